"""Per-node fault injection for the test broker's HTTP servers.

A :class:`Faults` object belongs to one node (listener). Its rules are looked at before the
engine is called, so an injected 5xx, 429 or dropped connection never reaches the engine and
changes no state. The one exception is ``drop(after_processing=True)``: the engine runs, then
the connection is closed before the response is written. That is the case a client's
idempotent-retry logic has to survive (the server did the work, the client never heard).

Rules can be limited to the next ``count`` matching requests and to paths starting with a
prefix (matched against the raw request path). Engine-level faults (a database error inside a
route) live on the engine (``broker.faults``), not here.

The methods may be called from any thread (the synchronous server runs its loop in a thread
of its own), so the rule list is guarded by a lock.
"""

from __future__ import annotations

import random
import threading
from typing import List, Optional, Sequence, Tuple

from ._wire import Request, Response

__all__ = ["FaultRule", "Faults"]

_JSON = [("Content-Type", "application/json")]

_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultRule:
    """One fault rule. ``hits`` counts the requests it has affected so far."""

    __slots__ = (
        "after_processing",
        "hits",
        "kind",
        "latency",
        "path",
        "probability",
        "remaining",
        "reset",
        "response",
        "rng",
    )

    def __init__(
        self,
        kind: str,
        *,
        count: Optional[int] = None,
        path: Optional[str] = None,
        latency: float = 0.0,
        response: Optional[Response] = None,
        probability: Optional[float] = None,
        seed: Optional[int] = None,
        after_processing: bool = False,
        reset: bool = False,
    ) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for 'until cleared')")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self.kind = kind
        self.remaining = count
        self.path = path
        self.latency = latency
        self.response = response
        self.probability = probability
        self.rng = random.Random(seed) if probability is not None else None
        self.after_processing = after_processing
        self.reset = reset
        self.hits = 0

    def fires(self) -> bool:
        """Draw from the rule's RNG: does a probabilistic rule apply to this request?"""
        assert self.rng is not None and self.probability is not None
        return self.rng.random() < self.probability

    def __repr__(self) -> str:
        return (
            f"FaultRule({self.kind!r}, remaining={self.remaining}, path={self.path!r}, "
            f"hits={self.hits})"
        )


class Faults:
    """Fault injection for one node. All rules apply until :meth:`clear` unless given a count.

    Example::

        node.faults.error(503, count=2)                   # the next two requests get a 503
        node.faults.rate_limit(retry_after=1, count=1)    # the next one gets a 429
        node.faults.latency(250, path="/api/v1/pop")      # every pop is 250 ms slower
        node.faults.drop(probability=0.1, seed=7)         # 10 % of requests lose their socket
        node.faults.drop(count=1, path="/api/v1/push", after_processing=True)
        node.faults.clear()
    """

    def __init__(self) -> None:
        self._rules: List[FaultRule] = []
        self._lock = threading.Lock()

    @property
    def rules(self) -> Tuple[FaultRule, ...]:
        """The rules still in force, in the order they were added."""
        with self._lock:
            return tuple(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def latency(
        self, ms: float, *, count: Optional[int] = None, path: Optional[str] = None
    ) -> FaultRule:
        """Delay matching requests by ``ms`` milliseconds before the engine sees them."""
        return self._add(FaultRule("latency", count=count, path=path, latency=ms / 1000.0))

    def error(
        self,
        status: int = 503,
        body: Optional[bytes] = None,
        *,
        count: Optional[int] = None,
        path: Optional[str] = None,
        headers: Sequence[Tuple[str, str]] = (),
        reason: Optional[str] = None,
    ) -> FaultRule:
        """Answer matching requests with ``status`` (default 503) instead of calling the engine.

        The default body is ``{"error":"<reason>"}`` with ``Content-Type: application/json``.
        """
        phrase = reason or _REASONS.get(status, "Error")
        if body is None:
            body = b'{"error":"' + phrase.encode() + b'"}'
        hdrs = list(headers) if headers else list(_JSON)
        response = Response(status, body, hdrs, phrase)
        return self._add(FaultRule("error", count=count, path=path, response=response))

    def rate_limit(
        self,
        retry_after: float = 1,
        *,
        count: Optional[int] = None,
        path: Optional[str] = None,
    ) -> FaultRule:
        """Answer matching requests with ``429 Too Many Requests`` and a ``Retry-After`` header."""
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        headers = [*_JSON, ("Retry-After", value)]
        response = Response(429, b'{"error":"Too Many Requests"}', headers, "Too Many Requests")
        return self._add(FaultRule("rate_limit", count=count, path=path, response=response))

    def drop(
        self,
        *,
        count: Optional[int] = None,
        probability: Optional[float] = None,
        seed: Optional[int] = 0,
        path: Optional[str] = None,
        after_processing: bool = False,
        reset: bool = False,
    ) -> FaultRule:
        """Read matching requests, then close the connection without a response.

        Args:
            count: drop only this many requests (``None``: until cleared).
            probability: drop each matching request with this probability, drawn from a
                ``random.Random(seed)`` of the rule's own, so a run is reproducible.
            seed: the RNG seed used with ``probability``.
            path: only requests whose raw path starts with this prefix.
            after_processing: let the engine handle the request first (state changes), then
                drop the connection before the response is written.
            reset: abort the TCP connection (RST) instead of closing it cleanly (FIN).
                On HTTP/2 a drop always resets only the stream.
        """
        return self._add(
            FaultRule(
                "drop",
                count=count,
                path=path,
                probability=probability,
                seed=seed,
                after_processing=after_processing,
                reset=reset,
            )
        )

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, request: Request) -> Tuple[float, Optional[FaultRule]]:
        """Apply the rules to one request: ``(delay seconds, terminal rule or None)``.

        Latency rules add up; the first matching error, rate-limit or drop rule is the
        terminal one. Each rule's count is consumed only when it takes effect.
        """
        delay = 0.0
        terminal: Optional[FaultRule] = None
        with self._lock:
            spent = False
            for rule in self._rules:
                if rule.path is not None and not request.path.startswith(rule.path):
                    continue
                if rule.kind == "latency":
                    delay += rule.latency
                elif terminal is not None or (rule.rng is not None and not rule.fires()):
                    continue
                else:
                    terminal = rule
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    spent = spent or rule.remaining == 0
            if spent:
                self._rules = [r for r in self._rules if r.remaining != 0]
        return delay, terminal
