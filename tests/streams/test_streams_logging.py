"""The runtime's logging (client contract §5.11, §8.10): warnings and errors are never
silent, ``QUEEN_STREAMS_LOG`` shows the rest, and a standard ``logging.Logger`` works as the
``logger`` option."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Dict

import pytest

from queen.streams.util.logger import make_logger

_SCRIPT = """
from queen.streams.util.logger import make_logger
log = make_logger()
log.info("query registered", {"queryId": "q"})
log.warn("key_by is set")
log.error("cycle failed", {"phase": "cycle", "error": "boom"})
"""


def _run(env: Dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "QUEEN_STREAMS_LOG"}
    return subprocess.run([sys.executable, "-c", _SCRIPT], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=True)


def test_warnings_and_errors_reach_stderr_when_nothing_is_configured() -> None:
    # An application that configured no logging still sees a failing cycle, as with
    # queen-mq, whose runner always printed its warnings and errors.
    out = _run({})
    assert "key_by is set" in out.stderr
    assert 'cycle failed {"phase":"cycle","error":"boom"}' in out.stderr
    assert "query registered" not in out.stdout + out.stderr
    assert "Logging error" not in out.stderr


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_queen_streams_log_shows_info_on_stdout(value: str) -> None:
    out = _run({"QUEEN_STREAMS_LOG": value})
    assert 'query registered {"queryId":"q"}' in out.stdout
    assert "cycle failed" in out.stderr and "cycle failed" not in out.stdout


def test_a_standard_logger_as_the_logger_option(caplog: pytest.LogCaptureFixture) -> None:
    app = logging.getLogger("myapp.streams")
    log = make_logger(app)
    with caplog.at_level(logging.INFO, logger="myapp.streams"):
        log.info("query registered", {"queryId": "q"})
        log.warn(".key_by() is set")
        log.error("cycle failed", {"error": "boom"})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, 'query registered {"queryId":"q"}'),
        (logging.WARNING, ".key_by() is set"),
        (logging.ERROR, 'cycle failed {"error":"boom"}'),
    ]
