"""Route table of the 0.15 broker (spec §2, §2.17).

Paths are matched segment by segment on the raw (not percent-decoded) path; a literal
segment wins over a parameter (``/consumer-groups/lagging`` before ``/consumer-groups/:g``),
as in uWebSockets. Parameters never match an empty segment. Every path or method without a
route gets the library's 404 — including the routes the reference clients call but 0.15 does
not serve (§2.17). ``deferred`` marks database-backed routes (§1.5).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

__all__ = ["Route", "Router"]

Handler = Callable[..., Any]


class Route(NamedTuple):
    method: str
    segments: Tuple[str, ...]
    handler: Handler
    deferred: bool
    is_async: bool


class Router:
    """Method + path → (route, path parameters)."""

    def __init__(self) -> None:
        self._routes: Dict[Tuple[str, int], List[Route]] = {}

    def add(self, method: str, pattern: str, handler: Handler, *, deferred: bool = True,
            is_async: bool = False) -> None:
        segs = tuple(pattern.strip("/").split("/"))
        self._routes.setdefault((method, len(segs)), []).append(
            Route(method, segs, handler, deferred, is_async)
        )

    def match(self, method: str, path: str) -> Tuple[Optional[Route], List[str]]:
        parts = path[1:].split("/") if path.startswith("/") else path.split("/")
        candidates = self._routes.get((method, len(parts)))
        if not candidates:
            return None, []
        best: Optional[Route] = None
        best_score: Tuple[bool, ...] = ()
        best_args: List[str] = []
        for route in candidates:
            args: List[str] = []
            score: List[bool] = []
            for pat, seg in zip(route.segments, parts):
                if pat.startswith(":"):
                    if not seg:
                        break
                    args.append(seg)
                    score.append(False)
                elif pat == seg:
                    score.append(True)
                else:
                    break
            else:
                s = tuple(score)
                if best is None or s > best_score:
                    best, best_score, best_args = route, s, args
        return best, best_args
