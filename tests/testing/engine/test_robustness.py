"""Bad input never crashes the engine or corrupts its state (any body, any query).

Every body-reading route gets arbitrary bytes, arbitrary JSON, and near-valid objects whose
fields hold values of any type. Each answer must be one the real broker gives (a status from
its set, a JSON body, the HTML 404 or nothing), and a normal push/pop/ack round trip must
still work afterwards on the same engine.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queen.testing._engine import Broker, Clock
from queen.testing._wire import Request, Response

UUID = "3c1e9a52-0d7b-4f7e-a8a4-8b2f5f0d1e63"
STATUSES = {200, 201, 204, 400, 404, 500}

# route -> the body fields it reads (near-valid bodies are built from these)
ROUTES: Dict[str, List[str]] = {
    "/api/v1/push": ["items"],
    "/api/v1/ack": ["transactionId", "partitionId", "status", "consumerGroup", "leaseId", "error"],
    "/api/v1/ack/batch": ["acknowledgments", "consumerGroup"],
    "/api/v1/transaction": ["operations", "requiredLeases"],
    f"/api/v1/lease/{UUID}/extend": ["seconds"],
    "/api/v1/configure": ["queue", "namespace", "task", "options"],
    "/api/v1/traces": [
        "transactionId", "partitionId", "data", "consumerGroup", "eventType", "traceNames",
    ],
    "/api/v1/consumer-groups/g/subscription": ["subscriptionTimestamp"],
    "/api/v1/consumer-groups/g/queues/q/seek": ["toEnd", "timestamp"],
    "/api/v1/system/maintenance": ["enabled"],
    "/api/v1/system/maintenance/pop": ["enabled"],
    "/streams/v1/queries": ["name", "source_queue", "sink_queue", "config_hash", "reset"],
    "/streams/v1/cycle": [
        "query_id", "partition_id", "consumer_group", "state_ops", "push_items", "ack",
        "release_lease",
    ],
    "/streams/v1/state/get": ["query_id", "partition_id", "keys", "key_prefix",
                              "ripe_at_or_before"],
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", UUID, "not-a-uuid", "completed", "failed", "dlq", "retry", "x" * 300])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20,
)


names = st.sampled_from(["q", "q2", "Default", "p1", "", "x" * 300, "a b", "ns.task.q"])
ids = st.sampled_from([UUID, "not-a-uuid", "", "01a21eb3-da69-7000-a720-cddd5b5424a9"])
# Values of the right type for each field, half the time, so validation lets more through.
PLAUSIBLE: Dict[str, Any] = {
    "queue": names, "partition": names, "name": names, "source_queue": names,
    "sink_queue": names, "consumerGroup": names, "consumer_group": names,
    "transactionId": st.text(max_size=8) | st.just("t" * 300),
    "partitionId": ids, "leaseId": ids, "traceId": ids, "query_id": ids,
    "partition_id": ids, "status": st.sampled_from(
        ["completed", "success", "failed", "dlq", "retry", "bogus"]),
    "type": st.sampled_from(["ack", "push", "upsert", "delete", "frobnicate"]),
    "seconds": st.integers(-5, 10**6) | st.floats(0, 100),
    "enabled": st.booleans(), "toEnd": st.booleans(), "reset": st.booleans(),
    "timestamp": st.sampled_from(["2026-01-01T00:00:00Z", "garbage", "now"]),
    "subscriptionTimestamp": st.sampled_from(["2026-01-01T00:00:00Z", "garbage"]),
    "options": st.dictionaries(
        st.sampled_from(["leaseTime", "retryLimit", "windowBuffer", "delayedProcessing",
                         "retentionEnabled", "bogusKey"]),
        st.integers(0, 5) | st.floats(0, 5) | st.booleans() | st.text(max_size=3),
        max_size=4),
    "config_hash": st.text(max_size=4), "key": st.text(max_size=4),
    "key_prefix": st.text(max_size=2), "ripe_at_or_before": st.integers(0, 10**13),
}
LISTS = ("items", "acknowledgments", "operations", "state_ops", "push_items", "keys")


def field(name: str) -> Any:
    return st.one_of(PLAUSIBLE.get(name, json_values), json_values)


@st.composite
def near_valid(draw: Any, fields: List[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(fields), unique=True, min_size=1)):
        if name in LISTS:
            keys = st.lists(st.sampled_from([*sorted(PLAUSIBLE), "payload", "data", "items"]),
                            unique=True, max_size=6)
            entries = keys.flatmap(lambda ks: st.fixed_dictionaries(
                {k: field(k) for k in ks}))
            body[name] = draw(st.lists(entries, max_size=3) | json_values)
        else:
            body[name] = draw(field(name))
    if "ack" in fields and draw(st.booleans()):
        body["ack"] = draw(st.fixed_dictionaries(
            {"transactionId": field("transactionId"), "status": field("status"),
             "count": st.integers(0, 3) | st.floats(0, 3)}))
    return body


def _dumps(value: Any) -> bytes:
    # The stdlib encoder, so integers beyond 64 bits and lone surrogates reach the engine too.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def requests(draw: Any) -> Request:
    path = draw(st.sampled_from(sorted(ROUTES)))
    kind = draw(st.sampled_from(["bytes", "json", "near"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=64))
    elif kind == "json":
        body = _dumps(draw(json_values))
    else:
        body = _dumps(draw(near_valid(ROUTES[path])))
    return Request("POST", path, "", {}, body)


pop_queries = st.lists(
    st.tuples(
        st.sampled_from(["batch", "consumerGroup", "autoAck", "subscriptionMode",
                         "subscriptionFrom", "partitions", "timeout", "xbatch"]),
        st.text(alphabet="ab1-+%:0Z", max_size=8),
    ),
    max_size=5,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


def _may_hang(request: Request) -> bool:
    """The two inputs the real broker never answers promptly on purpose."""
    if request.path == "/api/v1/ack/batch":
        try:
            parsed = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return False
        # an empty acknowledgments array never gets a response (API §2.4, Q6)
        return isinstance(parsed, dict) and parsed.get("acknowledgments") == []
    return "wait=" in request.query


def _check_answer(response: Response) -> None:
    assert response.status in STATUSES
    if response.status == 404:
        assert response.body.startswith(b"<html>")
    elif response.body:
        orjson.loads(response.body)


async def _round_trip_still_works(broker: Broker) -> None:
    async def call(method: str, path: str, body: Any = None, query: str = "") -> Any:
        data = b"" if body is None else orjson.dumps(body)
        r = await broker.handle(Request(method, path, query, {}, data))
        return orjson.loads(r.body) if r.body else None

    await call("POST", "/api/v1/system/maintenance", {"enabled": False})
    await call("POST", "/api/v1/system/maintenance/pop", {"enabled": False})
    pushed = await call("POST", "/api/v1/push", {"items": [{"queue": "sanity", "payload": 1}]})
    assert pushed[0]["status"] == "queued"
    popped = await call("GET", "/api/v1/pop/queue/sanity", query="batch=10")
    assert [m["data"] for m in popped["messages"]] == [1]
    message = popped["messages"][0]
    acked = await call("POST", "/api/v1/ack", {
        "transactionId": message["transactionId"], "partitionId": message["partitionId"],
        "leaseId": message["leaseId"],
    })
    assert acked[0]["success"] is True


async def _exercise(requests_: List[Request], query: Optional[str]) -> None:
    broker = Broker(Clock(1_800_000_000.0, frozen=True))
    await broker.handle(Request("POST", "/api/v1/push", "", {}, orjson.dumps(
        {"items": [{"queue": "q", "payload": {"a": 1}}]})))
    if query is not None:
        requests_ = [*requests_, Request("GET", "/api/v1/pop/queue/q", query, {}, b"")]
    for request in requests_:
        call = asyncio.ensure_future(broker.handle(request))
        done, _ = await asyncio.wait({call}, timeout=1.0)
        if not done:
            assert _may_hang(request), request
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            continue
        _check_answer(call.result())
    await _round_trip_still_works(broker)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=4), st.none() | pop_queries)
def test_no_input_crashes_the_engine_or_corrupts_its_state(
    requests_: List[Request], query: Optional[str]
) -> None:
    asyncio.run(_exercise(requests_, query))


def test_a_huge_body_is_answered() -> None:
    items = [{"queue": "big", "payload": "x" * 1000} for _ in range(20000)]  # ~20 MB
    body = orjson.dumps({"items": items})

    async def run() -> None:
        broker = Broker()
        response = await broker.handle(Request("POST", "/api/v1/push", "", {}, body))
        assert response.status == 200
        assert len(orjson.loads(response.body)) == 20000
        await _round_trip_still_works(broker)

    asyncio.run(run())
