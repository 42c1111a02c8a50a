"""The ``/streams/v1/*`` client and helpers against an ``httpx.MockTransport`` swapped into
``StreamsHttpClient._client`` (client contract §8.10, API §2.16, Q36)."""

from __future__ import annotations

from typing import Any, Callable, List

import httpx
import orjson
import pytest

from queen import (
    QueenPayloadError,
    StreamsConfigHashMismatch,
    StreamsCycleFailed,
    StreamsHttpError,
    StreamsRegisterFailed,
    StreamsStateGetFailed,
)
from queen.streams.runtime import commit_cycle, get_state, register_query
from queen.streams.runtime.streams_http_client import StreamsHttpClient

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: Any) -> StreamsHttpClient:
    http = StreamsHttpClient("http://broker.test:6632/", **kwargs)
    http._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return http


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    slept: List[float] = []

    async def fake(ms: float) -> None:
        slept.append(ms)

    monkeypatch.setattr("queen.streams.runtime.streams_http_client.sleep", fake)
    return slept


async def test_post_sends_json_with_headers() -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True})

    http = client(handler, bearer_token="tok", headers={"X-Tenant": "t1"})
    assert await http.post("/streams/v1/state/get", {"a": "é"}) == {"success": True}
    req = seen[0]
    assert str(req.url) == "http://broker.test:6632/streams/v1/state/get"
    assert req.method == "POST" and orjson.loads(req.content) == {"a": "é"}
    assert req.headers["content-type"] == "application/json"
    assert req.headers["authorization"] == "Bearer tok"
    assert req.headers["x-tenant"] == "t1"
    await http.close()


async def test_retries_5xx_and_network_errors_with_backoff(no_sleep: List[float]) -> None:
    answers: List[Any] = [httpx.ConnectError("refused"), httpx.Response(503, text="busy"),
                          httpx.Response(500, json={"error": "db down"}),
                          httpx.Response(200, json={"ok": 1})]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await client(handler).post("/streams/v1/cycle", {}) == {"ok": 1}
    assert len(no_sleep) == 3
    for k, ms in enumerate(no_sleep):  # 100, 200, 400 ms plus up to 30 % jitter
        assert 100 * 2**k <= ms <= 130 * 2**k


async def test_gives_up_after_four_tries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502)

    with pytest.raises(StreamsHttpError) as info:
        await client(handler).post("/streams/v1/cycle", {})
    assert len(calls) == 4 and info.value.status == 502 and str(info.value) == "HTTP 502"


@pytest.mark.parametrize("status", [400, 401, 404, 409])
async def test_4xx_is_final(status: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"error": "nope"})

    with pytest.raises(StreamsHttpError) as info:
        await client(handler).post("/streams/v1/queries", {})
    assert len(calls) == 1 and info.value.status == status and str(info.value) == "nope"
    assert info.value.body == {"error": "nope"}


async def test_429_honours_retry_after(no_sleep: List[float]) -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=[])]
    assert await client(lambda r: answers.pop(0)).post("/x", {}) == []
    assert no_sleep == [2000.0]


async def test_undecodable_2xx_is_a_failed_try() -> None:
    answers = [httpx.Response(200, content=b"<html>"), httpx.Response(200, json={"a": 1})]
    assert await client(lambda r: answers.pop(0)).post("/x", {}) == {"a": 1}


async def test_unencodable_body_is_a_typed_error() -> None:
    with pytest.raises(QueenPayloadError):
        await client(lambda r: httpx.Response(200)).post("/x", {"bad": {1, 2}})


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        (float("nan"), "$.state_ops[0].value.sum", "NaN"),
        (float("inf"), "$.state_ops[0].value.sum", "Infinity"),
        ("a\x00b", "$.state_ops[0].value.sum", "NUL"),
    ],
)
async def test_a_body_the_broker_cannot_store_is_refused_before_sending(
    value: Any, path: str, fragment: str
) -> None:
    # orjson writes NaN as null (state silently corrupted) and the broker cannot store a NUL
    # (the cycle fails on every retry): both are a typed error before anything is sent.
    sent: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True})

    body = {"state_ops": [{"type": "upsert", "key": "k", "value": {"sum": value}}],
            "ack": None}
    with pytest.raises(QueenPayloadError, match=fragment) as caught:
        await client(handler).post("/streams/v1/cycle", body)
    assert caught.value.path == path
    assert sent == []
    # None alone is fine.
    body["state_ops"][0]["value"] = {"sum": None}
    assert await client(handler).post("/streams/v1/cycle", body) == {"success": True}


async def test_register_success_and_conflicts() -> None:
    def ok(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        assert body == {"name": "q", "source_queue": "s", "config_hash": "h", "reset": True,
                        "sink_queue": "k"}
        return httpx.Response(200, json={"config_hash": "h", "fresh": False, "name": "q",
                                         "query_id": "7c4e", "reset": True, "success": True})

    assert await register_query(client(ok), "q", "s", "h", sink_queue="k", reset=True) == {
        "queryId": "7c4e", "name": "q", "fresh": False, "didReset": True}

    text = ("config_hash mismatch: operator chain changed for queryId 'q'. Pass reset:true to "
            "wipe existing state, or use a new queryId.")
    for answer in (httpx.Response(200, json={"success": False, "error": text, "name": "q"}),
                   httpx.Response(409, json={"success": False, "error": text})):
        with pytest.raises(StreamsConfigHashMismatch) as info:
            await register_query(client(lambda r, a=answer: a), "q", "s", "h")
        assert str(info.value).startswith(text) and "reset=True" in str(info.value)

    for answer, message in ((httpx.Response(200, json={"success": False, "error": "boom"}),
                             "boom"), (httpx.Response(200), "register failed")):
        with pytest.raises(StreamsRegisterFailed) as failed:
            await register_query(client(lambda r, a=answer: a), "q", "s", "h")
        assert str(failed.value) == message


async def test_state_get_and_its_failure() -> None:
    def rows(request: httpx.Request) -> httpx.Response:
        assert orjson.loads(request.content) == {
            "query_id": "q", "partition_id": "p", "keys": [], "key_prefix": "tumb:1\x1f",
            "ripe_at_or_before": 5}
        return httpx.Response(200, json={"rows": [{"key": "a", "value": {"acc": 1}},
                                                  {"key": 3}], "success": True})

    assert await get_state(client(rows), "q", "p", key_prefix="tumb:1\x1f",
                           ripe_at_or_before=5.0) == {"a": {"acc": 1}}
    for answer, message in ((httpx.Response(200, json={"success": False, "error": "bad uuid"}),
                             "bad uuid"), (httpx.Response(200), "state.get failed")):
        with pytest.raises(StreamsStateGetFailed) as info:
            await get_state(client(lambda r, a=answer: a), "q", "p")
        assert str(info.value) == message


async def test_cycle_body_and_its_failure() -> None:
    bodies: List[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(orjson.loads(request.content))
        return httpx.Response(200, json={"success": len(bodies) == 1, "error": "Message not found"})

    ack = {"transactionId": "t", "leaseId": "l", "status": "completed", "count": 2}
    items = [{"queue": "out", "partition": "p", "payload": {"v": 1}}]
    await commit_cycle(client(handler), "q", "p", "g", [{"type": "delete", "key": "k"}], items,
                       ack, release_lease=False)
    body = bodies[0]
    assert body["ack"] == ack and body["release_lease"] is False
    assert body["consumer_group"] == "g" and body["state_ops"] == [{"type": "delete", "key": "k"}]
    # Every sink item gets a transactionId, so a re-sent cycle is reported as a duplicate.
    assert len(body["push_items"][0]["transactionId"]) == 36
    with pytest.raises(StreamsCycleFailed) as info:
        await commit_cycle(client(handler), "q", "p", "g", ack=None)
    assert str(info.value) == "Message not found" and info.value.body["success"] is False
    assert bodies[1]["ack"] is None and bodies[1]["release_lease"] is True
