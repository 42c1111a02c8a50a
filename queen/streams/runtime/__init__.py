"""The streams runtime: the runner and its ``/streams/v1/*`` calls."""

from .cycle import commit_cycle
from .register import register_query
from .runner import Runner
from .state import get_state
from .streams_http_client import StreamsHttpClient

__all__ = ["Runner", "StreamsHttpClient", "commit_cycle", "get_state", "register_query"]
