"""The streams scenario of ``python -m bench.run``: what it is called and how it is started.

Only the two Python clients (queen-turbo and the reference queen-mq) run it, through
``bench/runners/streams_job.py``; the bare HTTP loops have no streams runtime.
"""

from __future__ import annotations

from typing import Any, Dict

NAME = "streams"
TITLE = "streams: key_by + tumbling window + aggregate + .to(), 50 partitions"
SHORT = "streams job\n50 partitions"
TIMEOUT_S = 400


def params(quick: bool) -> Dict[str, Any]:
    return {"n": 20_000 if quick else 100_000, "partitions": 50}

