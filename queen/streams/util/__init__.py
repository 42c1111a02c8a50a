"""Helpers of the streams SDK: the config hash, backoff and the runtime's logger."""

from .config_hash import config_hash_of

__all__ = ["config_hash_of"]
