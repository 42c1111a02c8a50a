"""Gate factories for rate limiting (``Stream.gate(token_bucket_gate(...))``)."""

from .rate_limiter import sliding_window_gate, token_bucket_gate

__all__ = ["sliding_window_gate", "token_bucket_gate"]
