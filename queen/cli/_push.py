"""``queen push``: items from arguments, or JSON lines streamed from stdin.

Stdin is read line by line into batches that wait in a small bounded queue for the pusher
thread, so parsing overlaps the requests and memory stays flat whatever the input size. One
pusher keeps the input order (a partition's messages stay in line order).
"""

from __future__ import annotations

import os
import queue as _queue
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Optional

import orjson

from .._errors import QueenError, QueenServerError

__all__ = ["PushStats", "push_stream", "read_batches"]

QUEUE_DEPTH = 4  # batches parsed ahead of the pusher


@dataclass
class PushStats:
    sent: int = 0
    duplicates: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)
    elapsed: float = 0.0
    errors: List[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def count(self, entries: Any, size: int) -> None:
        if not isinstance(entries, list):
            self.sent += size
            return
        for entry in entries:
            status = entry.get("status") if isinstance(entry, dict) else None
            if status == "duplicate":
                self.duplicates += 1
            elif status == "failed":
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(str(entry.get("error")))
            else:
                self.sent += 1

    def summary(self) -> Dict[str, Any]:
        return {
            "sent": self.sent,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "seconds": round(self.elapsed, 3),
            "rate": round(self.rate, 1),
        }

    def line(self) -> str:
        return (
            f"sent {self.sent}, duplicates {self.duplicates}, failed {self.failed} "
            f"in {self.elapsed:.2f}s ({self.rate:,.0f} msg/s)"
        )


def make_item(payload: Any, key_field: Optional[str]) -> Dict[str, Any]:
    item: Dict[str, Any] = {"data": payload}
    if key_field is not None:
        key = payload.get(key_field) if isinstance(payload, dict) else None
        if key is None:
            raise ValueError(f"no {key_field!r} field to take the key from")
        item["key"] = key if isinstance(key, str) else orjson.dumps(key).decode()
    return item


def read_batches(
    source: IO[bytes],
    size: int,
    key_field: Optional[str],
    stats: PushStats,
    on_bytes: Callable[[int], None],
) -> Iterator[List[Dict[str, Any]]]:
    """Batches of items from JSON lines; a bad line counts as failed and is reported."""
    batch: List[Dict[str, Any]] = []
    seen = 0  # bytes read since the last report (reported per batch, not per line)
    for number, raw in enumerate(source, 1):
        seen += len(raw)
        line = raw.strip()
        if not line:
            continue
        try:
            batch.append(make_item(orjson.loads(line), key_field))
        except (orjson.JSONDecodeError, ValueError) as exc:
            stats.failed += 1
            if len(stats.errors) < 5:
                stats.errors.append(f"line {number}: {exc}")
            continue
        if len(batch) >= size:
            on_bytes(seen)
            seen = 0
            yield batch
            batch = []
    on_bytes(seen)
    if batch:
        yield batch


def push_stream(
    send: Callable[[List[Dict[str, Any]]], Any],
    batches: Iterator[List[Dict[str, Any]]],
    stats: PushStats,
    on_sent: Callable[[int], None],
) -> Optional[BaseException]:
    """Push every batch in order through ``send``; returns the error that stopped it, if any.

    A failed entry is counted and pushing goes on; an error without per-item results (the
    broker is gone, bad input) stops the stream: nothing after it is read. An interrupt
    (Ctrl-C) stops the reading too; the batches already read are pushed before it is raised.
    """
    pending: _queue.Queue = _queue.Queue(maxsize=QUEUE_DEPTH)
    fatal: List[BaseException] = []
    done = object()

    def pusher() -> None:
        while True:
            batch = pending.get()
            if batch is done:
                return
            if fatal:
                stats.failed += len(batch)  # read, never sent: counted, not dropped silently
                on_sent(len(batch))
                continue
            try:
                try:
                    entries = send(batch)
                except QueenServerError as exc:
                    if not isinstance(exc.body, list):
                        raise
                    entries = exc.body
                stats.count(entries, len(batch))
            except BaseException as exc:
                fatal.append(exc)
                stats.failed += len(batch)
            on_sent(len(batch))

    thread = threading.Thread(target=pusher, name="queen-cli-push", daemon=True)
    thread.start()
    interrupted = False
    try:
        for batch in batches:
            if fatal:
                break
            pending.put(batch)
    except KeyboardInterrupt:
        interrupted = True  # stop reading; what was read is still sent and counted
    finally:
        pending.put(done)
        thread.join()
        stats.elapsed = time.perf_counter() - stats.started
    if interrupted:
        raise KeyboardInterrupt
    return fatal[0] if fatal else None


def input_size(source: IO[bytes]) -> Optional[int]:
    """The byte size of a regular-file stdin (for a real progress bar), else None."""
    try:
        st = os.fstat(source.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    import stat

    return st.st_size if stat.S_ISREG(st.st_mode) else None


def error_text(exc: BaseException) -> str:
    if isinstance(exc, QueenError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
