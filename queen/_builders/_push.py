"""``queue(...).push(items)``: immediate pushes and the hand-off to client buffers.

Items are encoded when ``push()`` is called (a snapshot of the builder; bad input fails
before anything is sent). Awaiting the builder sends them (client contract §4.4):

* immediate mode: one ``POST /api/v1/push``; entries are grouped by ``status`` and handed to
  ``on_duplicate``, ``on_error``, ``on_success`` in that order (``buffered`` entries, the
  broker's disk failover, count as successes, D19); without ``on_error`` a failed item raises
  :class:`QueenServerError` after the other callbacks ran;
* buffered mode: the items join the client buffer of ``"<queue>/<partition>"`` (waiting only
  while it is full) and ``{"buffered": True, "count": n}`` is returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, List, Optional

import orjson

from .._errors import QueenError, QueenServerError
from .._http import decode_json
from .._speedups import PushEncoder
from .._transport import RawResponse
from .._validate import callable_option
from ._base import OnceAwaitable, call_maybe_async

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["PushBuilder"]


def _decode_push(response: RawResponse) -> Any:
    """The decoded answer and whether any entry can be ``failed``.

    An entry whose status is ``failed`` puts the token ``"failed"`` in the body whatever the
    spacing, so a body without it needs no scan of its entries.
    """
    return decode_json(response), b'"failed"' in response.body


def _ready(value: Any) -> Generator[Any, None, Any]:
    """An awaitable iterator that is already finished with ``value``."""
    return value
    yield  # pragma: no cover - makes this a generator


class PushBuilder(OnceAwaitable):
    """Staged push of already encoded items."""

    def __init__(
        self,
        queen: Queen,
        encoder: PushEncoder,
        encoded: List[bytes],
        buffer_options: Optional[Dict[str, Any]],
    ) -> None:
        self._queen = queen
        self._encoder = encoder
        self.encoded = encoded
        self._buffer_options = buffer_options
        self._on_success: Optional[Callable[..., Any]] = None
        self._on_error: Optional[Callable[..., Any]] = None
        self._on_duplicate: Optional[Callable[..., Any]] = None

    def __await__(self) -> Generator[Any, None, Any]:
        # A buffered push that fits at once completes synchronously: no coroutine frames.
        if (
            self._buffer_options is not None
            and not self._executed
            and self._on_success is None
            and self.encoded
            and not self._queen._closing
        ):
            encoder = self._encoder
            if self._queen._buffers.try_add(
                encoder.queue, encoder.partition, self.encoded, self._buffer_options
            ):
                self._executed = True
                return _ready({"buffered": True, "count": len(self.encoded)})
        return super().__await__()

    @property
    def queue(self) -> str:
        return self._encoder.queue

    @property
    def partition(self) -> str:
        return self._encoder.partition

    @property
    def body(self) -> bytes:
        """The ``POST /api/v1/push`` body this builder sends in immediate mode."""
        return self._encoder.body(self.encoded)

    def items(self) -> List[Dict[str, Any]]:
        """The formatted wire items, as dicts (what the callbacks receive)."""
        return [orjson.loads(item) for item in self.encoded]

    def on_success(self, callback: Callable[[List[Dict[str, Any]]], Any]) -> PushBuilder:
        """``callback(items)`` with the items stored (or buffered)."""
        self._on_success = callable_option(callback, "on_success callback")
        return self

    def on_error(
        self, callback: Callable[[List[Dict[str, Any]], Exception], Any]
    ) -> PushBuilder:
        """``callback(items, exc)`` with the items that failed, instead of raising."""
        self._on_error = callable_option(callback, "on_error callback")
        return self

    def on_duplicate(
        self, callback: Callable[[List[Dict[str, Any]], Exception], Any]
    ) -> PushBuilder:
        """``callback(items, exc)`` with the items the broker already had."""
        self._on_duplicate = callable_option(callback, "on_duplicate callback")
        return self

    async def _execute(self) -> Any:
        queen = self._queen
        queen._ensure_open()
        if not self.encoded:
            return []
        if self._buffer_options is not None:
            # add() admits at once when the items fit, and waits for room otherwise.
            await queen._buffers.add(
                self._encoder.queue, self._encoder.partition, self.encoded, self._buffer_options
            )
            if self._on_success is not None:
                await call_maybe_async(self._on_success, self.items())
            return {"buffered": True, "count": len(self.encoded)}
        try:
            result, may_fail = await queen._http.request(
                "POST", "/api/v1/push", body=self.body, decode=_decode_push
            )
        except Exception as exc:
            if self._on_error is None:
                raise
            await call_maybe_async(self._on_error, self.items(), exc)
            return None
        try:
            return await self._handle_result(result, may_fail)
        except QueenServerError:
            raise
        except Exception as exc:
            # An exception from on_success goes to on_error like a transport error would.
            if self._on_error is None:
                raise
            await call_maybe_async(self._on_error, self.items(), exc)
            return None

    async def _handle_result(self, result: Any, may_fail: bool = True) -> Any:
        if isinstance(result, list):
            return await self._handle_entries(result, may_fail)
        if isinstance(result, dict) and result.get("error") is not None:
            error = QueenServerError(str(result["error"]), body=result)
            if self._on_error is None:
                raise error
            await call_maybe_async(self._on_error, self.items(), error)
            return result
        if self._on_success is not None:
            await call_maybe_async(self._on_success, self.items())
        return result

    async def _handle_entries(self, entries: List[Any], may_fail: bool = True) -> List[Any]:
        callbacks = self._on_success or self._on_error or self._on_duplicate
        if not callbacks:
            if may_fail:
                for entry in entries:
                    if isinstance(entry, dict) and entry.get("status") == "failed":
                        raise QueenServerError(
                            str(entry.get("error") or "Push failed"), body=entries
                        )
            return entries
        duplicates: List[Dict[str, Any]] = []
        failures: List[Dict[str, Any]] = []
        successes: List[Dict[str, Any]] = []
        for item, entry in zip(self.items(), entries):
            item["result"] = entry
            status = entry.get("status") if isinstance(entry, dict) else None
            if status == "duplicate":
                duplicates.append(item)
            elif status == "failed":
                item["error"] = entry.get("error")
                failures.append(item)
            elif status in ("queued", "buffered"):
                successes.append(item)
        if duplicates and self._on_duplicate is not None:
            await call_maybe_async(
                self._on_duplicate, duplicates, QueenError("Duplicate transaction IDs detected")
            )
        unhandled: Optional[QueenServerError] = None
        if failures:
            error = QueenServerError(str(failures[0].get("error") or "Push failed"), body=entries)
            if self._on_error is None:
                unhandled = error
            else:
                await call_maybe_async(self._on_error, failures, error)
        if successes and self._on_success is not None:
            await call_maybe_async(self._on_success, successes)
        if unhandled is not None:
            raise unhandled
        return entries
