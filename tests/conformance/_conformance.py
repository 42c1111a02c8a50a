"""Differential conformance: one scripted request sequence, two brokers, equal answers.

A scenario is an ``async def scenario(api)`` that talks raw HTTP through :class:`Api`. The
runner plays it against a fresh ``queen.testing`` broker and against the real broker at the
same time, records every exchange (request, status, content type, parsed body) and compares
the two transcripts after normalising what is legitimately different between two runs:

* the scenario's queue (and group, trace...) names: unique per run, written back as ``<x>``;
* UUIDs (message, partition, lease, query ids): ``<id:N>`` numbered by first appearance, so
  "this lease id is the one popped earlier" is still compared;
* timestamps: ``<ts:.3Z>`` keeps the format (fraction digits and zone) and drops the instant
  (PostgreSQL's native ``+00:00`` form trims trailing zeros, so there only whether a
  fraction is present is kept: ``<ts:.n+00:00>``).

Anything else that depends on timing (a lag in milliseconds, a count read while a job runs on
the real broker) is masked per call with ``mask=`` and a comment saying why. A difference the
double keeps on purpose is masked with ``documented={"D3": [...]}``: the key must be a row of
the known-differences table in ``queen.testing``'s package documentation, which is where its
reason is written down.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

import httpx

import queen.testing
from queen.testing import QueenTestServer

__all__ = ["Api", "Scenario", "documented_differences", "run_both", "shape"]

Scenario = Callable[["Api"], Awaitable[None]]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_ROW = re.compile(r"^\|\s*(D\d+)\s*\|", re.MULTILINE)
_EMPTY = "<empty body>"
_WRITES = ("/api/v1/push", "/api/v1/transaction", "/streams/v1/cycle")


def documented_differences() -> List[str]:
    """The ids of the known-differences table in ``queen.testing``'s documentation."""
    return _ROW.findall(queen.testing.__doc__ or "")


class Api:
    """Raw HTTP to one broker, recording every exchange for the comparison."""

    def __init__(self, http: httpx.AsyncClient, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self._http = http
        self._names: Dict[str, str] = {}
        self.transcript: List[Dict[str, Any]] = []

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def name(self, label: str) -> str:
        """A name unique to this run; it reads as ``<label>`` in the transcript."""
        value = f"{label}-{uuid.uuid4().hex[:10]}"
        self._names[value] = f"<{label}>"
        return value

    async def call(self, method: str, path: str, body: Any = None, *,
                   raw: Optional[bytes] = None,
                   pick: Optional[Callable[[Any], Any]] = None,
                   mask: Iterable[str] = (),
                   documented: Optional[Mapping[str, Iterable[str]]] = None,
                   record: bool = True) -> Any:
        """Send one request; return its parsed body (``None`` when empty).

        Args:
            raw: bytes to send as the body instead of JSON-encoding ``body``.
            pick: applied to the parsed body (``None`` for an empty one) before it is
                recorded, e.g. to keep only this scenario's queues out of a broker-wide
                list; the full body is returned.
            mask: paths (``a.b.*.c``) whose values are not compared, for timing-dependent
                values; ``*`` matches every list element or dict key.
            documented: ``{"D<n>": paths}``: values the double gets differently on purpose,
                as written in the known-differences table.
            record: ``False`` for set-up and polling requests that are not compared.
        """
        content = raw if raw is not None else (None if body is None else json.dumps(body))
        response = await self._http.request(method, path, content=content)
        if self.real and method == "POST" and path in _WRITES:
            # The real broker updates its wildcard-pop index just after it answers a push
            # (Q25); a pop sent in that instant can miss the message. Let it settle.
            await asyncio.sleep(0.05)
        data: Any
        if not response.content:
            data = None
        else:
            try:
                data = response.json()
            except ValueError:
                data = response.text
        if record:
            shown = pick(data) if pick is not None else data
            masks = list(mask)
            for key, paths in (documented or {}).items():
                if key not in documented_differences():
                    raise AssertionError(f"{key} is not in queen.testing's differences table")
                masks.extend(paths)
            self.transcript.append({
                "request": f"{method} {path}",
                "body": body if raw is None else raw.decode("latin-1"),
                "status": response.status_code,
                "type": response.headers.get("content-type"),
                "answer": _EMPTY if shown is None else _masked(shown, masks),
            })
        return data

    async def raw_get(self, path: str) -> Any:
        """A GET on its own connection, read byte by byte to the close: for the 204 with a
        body of pop maintenance, which no pooled HTTP client can read (Q4). Recorded with
        its status, content type and body like :meth:`call`."""
        split = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(split.hostname, split.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {split.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type")
        data = json.loads(body) if body else None
        self.transcript.append({"request": f"GET {path}", "body": None,
                                "status": int(lines[0].split()[1]), "type": ctype,
                                "answer": _EMPTY if data is None else data})
        return data

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("POST", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.call("DELETE", path, **kw)

    async def settle_stats(self) -> None:
        """Refresh the real broker's statistics rows (unrecorded) twice: the first run gives
        new partitions provisional numbers, the second settles them, which is what
        ``queen.testing`` always answers (difference D1)."""
        for _ in range(2):
            await self.call("POST", "/api/v1/stats/refresh", record=False)

    async def until(self, method: str, path: str, check: Callable[[Any], bool],
                    body: Any = None, timeout: float = 10.0) -> Any:
        """Repeat an unrecorded request until ``check(answer)``; for what the real broker
        does in the background (stats jobs, disk-buffer drains)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            answer = await self.call(method, path, body, record=False)
            if check(answer):
                return answer
            if loop.time() > deadline:
                raise AssertionError(f"{self.kind}: {method} {path} never satisfied the check; "
                                     f"last answer {answer!r}")
            await asyncio.sleep(0.2)

    def normalised(self) -> List[Dict[str, Any]]:
        ids: Dict[str, str] = {}
        names = sorted(self._names.items(), key=lambda kv: -len(kv[0]))

        def text(s: str) -> str:
            for value, label in names:
                s = s.replace(value, label)
            s = _UUID.sub(lambda m: ids.setdefault(m.group(0), f"<id:{len(ids)}>"), s)
            return _TS.sub(_ts_label, s)

        def walk(v: Any) -> Any:
            if isinstance(v, str):
                return text(v)
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, dict):
                return {text(k): walk(x) for k, x in v.items()}
            return v

        return [walk(entry) for entry in self.transcript]


def shape(value: Any) -> Any:
    """The key structure of a JSON value: objects keep their keys, lists become ``[...]`` and
    other leaves ``*``. What is compared of dashboard bodies whose figures (and how many
    series rows there are) are samples of the broker process."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return "[...]" if isinstance(value, list) else "*"


def _ts_label(m: re.Match[str]) -> str:
    fraction, zone = m.group(1) or "", m.group(2) or ""
    if zone == "+00:00":
        # PostgreSQL's native form drops trailing zeros of the fraction (".1045" is
        # 104500 µs), so its length depends on the instant: only its presence is compared.
        return f"<ts:{'.n' if fraction else ''}{zone}>"
    return f"<ts:{fraction[:1]}{len(fraction) - 1 if fraction else 0}{zone}>"


def _masked(value: Any, paths: Sequence[str]) -> Any:
    for path in paths:
        value = _mask_one(value, path.split("."))
    return value


def _mask_one(value: Any, parts: List[str]) -> Any:
    if not parts:
        return "<masked>"
    head, rest = parts[0], parts[1:]
    if isinstance(value, list):
        if head == "*":
            return [_mask_one(v, rest) for v in value]
        if head.isdigit() and int(head) < len(value):
            copy = list(value)
            copy[int(head)] = _mask_one(value[int(head)], rest)
            return copy
        return value
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        return {k: (_mask_one(v, rest) if k in keys else v) for k, v in value.items()}
    return value


def _explain(testing: List[Dict[str, Any]], real: List[Dict[str, Any]]) -> str:
    lines = []
    for i in range(max(len(testing), len(real))):
        t = testing[i] if i < len(testing) else None
        r = real[i] if i < len(real) else None
        if t == r:
            continue
        dump_t = json.dumps(t, indent=1, sort_keys=True).splitlines()
        dump_r = json.dumps(r, indent=1, sort_keys=True).splitlines()
        lines.append(f"exchange {i}:")
        lines.extend(difflib.unified_diff(dump_r, dump_t, "real broker", "queen.testing",
                                          lineterm="", n=2))
    return "\n".join(lines)


async def run_both(scenario: Scenario, real_url: str, **server_options: Any) -> None:
    """Play ``scenario`` on a fresh ``queen.testing`` broker and on the real one (at the same
    time) and fail with a per-exchange diff where the normalised transcripts differ."""

    async def play(kind: str, url: str) -> Api:
        async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
            api = Api(http, kind, url)
            await scenario(api)
            return api

    async with QueenTestServer(**server_options) as server:
        testing, real = await asyncio.gather(play("testing", server.url),
                                             play("real", real_url))
    t, r = testing.normalised(), real.normalised()
    assert t == r, "queen.testing answers differently from the real broker:\n" + _explain(t, r)
