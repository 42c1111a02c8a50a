"""``queen.streams``: windowed, stateful, exactly-once stream jobs on Queen (contract §8).

::

    from queen import Queen, Stream

    queen = Queen("http://localhost:6632")
    runner = await (Stream.from_(queen.queue("clicks"))
        .key_by(lambda m: m["data"]["user"])
        .window_tumbling(seconds=60, grace_period=5, event_time=lambda m: m["data"]["ts"])
        .aggregate({"n": lambda v: 1, "sum": lambda v: v["amount"]})
        .to(queen.queue("clicks-per-minute"))
        .run(query_id="clicks-per-minute", url="http://localhost:6632"))
    ...
    await runner.stop()

Each batch of a source partition is one cycle: its state changes, its sink messages and the
source ack are committed together by the broker (``POST /streams/v1/cycle``), so a job that
is killed and restarted with the same ``query_id`` resumes from the committed state without
losing or double-counting a message.
"""

from .._errors import (
    StreamsConfigHashMismatch,
    StreamsCycleFailed,
    StreamsError,
    StreamsHttpError,
    StreamsRegisterFailed,
    StreamsStateGetFailed,
)
from .helpers.rate_limiter import sliding_window_gate, token_bucket_gate
from .runtime.runner import Runner
from .stream import Stream

__all__ = [
    "Runner",
    "Stream",
    "StreamsConfigHashMismatch",
    "StreamsCycleFailed",
    "StreamsError",
    "StreamsHttpError",
    "StreamsRegisterFailed",
    "StreamsStateGetFailed",
    "sliding_window_gate",
    "token_bucket_gate",
]
