"""An HTTP/2 request re-sent after its reused connection died without a response byte says so.

The pool sends such a request again at once on a fresh connection (the idle-close race); the
broker may have processed the first send, so the answer is marked ``resent``, as on the
HTTP/1.1 routes, and callers that must know (a transaction's replay check) learn of it.
"""

from __future__ import annotations

import asyncio

from _rawpeer import GUARD, RawPeer

from queen._transport._httpx import HttpxTransport


async def test_a_request_resent_after_a_silent_drop_is_marked_resent() -> None:
    async with RawPeer() as peer:
        transport = HttpxTransport(http2_prior_knowledge=True)
        url = f"http://127.0.0.1:{peer.port}"
        try:
            first = asyncio.ensure_future(transport.send("GET", f"{url}/health", None, GUARD))
            conn = await peer.connection()
            await conn.handshake()
            sid, _ = await conn.request()
            conn.answer(sid)
            assert (await asyncio.wait_for(first, GUARD)).resent is False

            second = asyncio.ensure_future(
                transport.send("POST", f"{url}/api/v1/transaction", b"{}", GUARD)
            )
            await conn.request()  # received, then the connection dies without an answer
            conn.writer.close()
            fresh = await peer.connection()
            await fresh.handshake()
            sid, _ = await fresh.request()
            fresh.answer(sid, b"[]")
            answer = await asyncio.wait_for(second, GUARD)
            assert (answer.status, answer.body, answer.resent) == (200, b"[]", True)
        finally:
            await transport.aclose()
