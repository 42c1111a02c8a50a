"""``Queen(...)``: accepted forms, merge order, validation, headers on the wire (§3.1, D2)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from queen import CLIENT_DEFAULTS, Queen
from queen.testing import QueenTestServer

from .conftest import RecordingBroker, make_client


def _q(*args: Any, **kwargs: Any) -> Queen:
    kwargs.setdefault("handle_signals", False)
    return Queen(*args, **kwargs)


@pytest.mark.parametrize(
    "config",
    [
        "http://h:6632",
        ["http://h:6632"],
        ("http://h:6632",),
        {"urls": ["http://h:6632"]},
        {"url": "http://h:6632"},
        None,
    ],
)
def test_every_form_honours_keywords(config: Any) -> None:
    kwargs: Dict[str, Any] = dict(
        timeout_millis=1234, retry_attempts=7, retry_delay_millis=11, retry_429=False,
        bearer_token="tok", headers={"X-A": "1"},
    )
    if config is None:
        kwargs["url"] = "http://h:6632"
    q = _q(config, **kwargs)
    assert q.urls == ["http://h:6632"]
    assert q._http.timeout_millis == 1234
    assert q._http._attempts == 7
    assert q._http._delay == pytest.approx(0.011)
    assert q._http._retry_429 is False
    assert q._transport._headers == {  # type: ignore[attr-defined]
        "Authorization": "Bearer tok", "X-A": "1",
    }


def test_list_form_keywords_reach_the_balancer() -> None:
    q = _q(["http://a:1", "http://b:2/"], load_balancing_strategy="round-robin",
           health_retry_after_millis=77, enable_failover=False)
    assert q.urls == ["http://a:1", "http://b:2"]
    assert q._balancer is not None
    assert q._balancer.strategy == "round-robin"
    assert q._balancer._retry_after == pytest.approx(0.077)
    assert q._http._failover is False


def test_dict_values_are_overlaid_and_keywords_win_over_them(fresh_warnings: None) -> None:
    with pytest.warns(UserWarning, match="unknown option 'unknown_key'"):
        q = _q({"urls": ["http://a:1"], "timeout_millis": 5, "unknown_key": 1}, timeout_millis=9)
    assert q._http.timeout_millis == 9
    q = _q({"urls": ["http://a:1"], "timeout_millis": 5})
    assert q._http.timeout_millis == 5


def test_none_keywords_do_not_override() -> None:
    q = _q({"url": "http://a:1", "retry_attempts": 5}, retry_attempts=None)
    assert q._http._attempts == 5


def test_defaults_are_copied_not_mutated() -> None:
    before = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CLIENT_DEFAULTS.items()}
    q = _q("http://a:1", headers={"X": "y"})
    q._config["headers"]["Z"] = "w"
    assert before == CLIENT_DEFAULTS


def test_urls_beats_url() -> None:
    assert _q("http://a", url="http://b").urls == ["http://a"]
    assert _q({"urls": ["http://a"], "url": "http://b"}).urls == ["http://a"]
    assert _q(url="http://b", urls=["http://c", "http://d"]).urls == ["http://c", "http://d"]


def test_missing_urls() -> None:
    with pytest.raises(ValueError, match=r"^Must provide urls or url in configuration$"):
        _q()
    with pytest.raises(ValueError, match=r"^Must provide urls or url in configuration$"):
        _q({})
    with pytest.raises(ValueError, match=r"^Must provide urls or url in configuration$"):
        _q({"urls": None, "url": None})


@pytest.mark.parametrize("bad", [[], "not a list", 5])
def test_urls_must_be_a_non_empty_list(bad: Any) -> None:
    with pytest.raises(ValueError):
        _q({"urls": bad})


@pytest.mark.parametrize("bad", ["ftp://h", "localhost:6632", "", 6632, None])
def test_url_validation(bad: Any) -> None:
    with pytest.raises(ValueError):
        _q([bad])


def test_trailing_slash_is_stripped() -> None:
    assert _q("http://h:6632/").urls == ["http://h:6632"]
    assert _q("https://h/").urls == ["https://h"]


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError):
        _q(["http://a", "http://b"], load_balancing_strategy="random")
    with pytest.raises(ValueError):
        _q("http://a", load_balancing_strategy="random")


def test_other_config_types() -> None:
    with pytest.raises(TypeError):
        _q(42)


def test_single_url_has_no_balancer_and_several_have_one() -> None:
    assert _q("http://a")._balancer is None
    assert _q(["http://a", "http://b"])._balancer is not None


async def test_constructor_does_no_io(server: QueenTestServer) -> None:
    q = make_client(server.url)
    q.queue("q").partition("p").batch(3)
    await asyncio.sleep(0.05)
    assert server.accepted_connections == 0
    await q.close()
    # Pointing at nothing listening is fine too.
    await make_client("http://127.0.0.1:9").close()


def _auth(broker: RecordingBroker) -> List[Any]:
    return [r.headers.get("authorization") for r in broker.seen(path="/health")]


@pytest.mark.parametrize("form", ["str", "list", "dict", "keywords"])
async def test_bearer_token_on_the_wire_with_every_form(
    server: QueenTestServer, broker: RecordingBroker, form: str
) -> None:
    config: Any = {
        "str": server.url,
        "list": [server.url],
        "dict": {"url": server.url},
        "keywords": None,
    }[form]
    kwargs: Dict[str, Any] = {"bearer_token": "s3cret", "headers": {"X-Tenant": "t1"}}
    if form == "keywords":
        kwargs["url"] = server.url
    async with make_client(config, **kwargs) as q:
        await q.admin.health()
        await q.queue("hq").push({"data": 1})
    (health,) = broker.seen("GET", "/health")
    assert health.headers["authorization"] == "Bearer s3cret"
    assert health.headers["x-tenant"] == "t1"
    (push,) = broker.seen("POST", "/api/v1/push")
    assert push.headers["authorization"] == "Bearer s3cret"
    assert push.headers["content-type"] == "application/json"


async def test_dict_bearer_token(server: QueenTestServer, broker: RecordingBroker) -> None:
    async with make_client({"urls": [server.url], "bearer_token": "dtok"}) as q:
        await q.admin.health()
    assert _auth(broker) == ["Bearer dtok"]


async def test_custom_authorization_header_wins(
    server: QueenTestServer, broker: RecordingBroker
) -> None:
    async with make_client(server.url, bearer_token="tok",
                           headers={"Authorization": "Custom xyz"}) as q:
        await q.admin.health()
    assert _auth(broker) == ["Custom xyz"]


async def test_no_authorization_without_token(
    server: QueenTestServer, broker: RecordingBroker
) -> None:
    async with make_client(server.url) as q:
        await q.admin.health()
    assert _auth(broker) == [None]


async def test_raw_capture_of_headers() -> None:
    """A raw socket server sees exactly what the client sends (no engine in between)."""
    captured: List[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length) if length else b""
        captured.append(head + body)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        async with make_client(f"http://127.0.0.1:{port}", bearer_token="T",
                               headers={"X-Extra": "e"}) as q:
            await q.admin.health()
            await q.admin.refresh_consumer_stats()
    finally:
        srv.close()
        await srv.wait_closed()
    get, post = captured
    assert get.startswith(b"GET /health HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer T\r\n" in get
    assert b"\r\nX-Extra: e\r\n" in get
    assert post.startswith(b"POST /api/v1/stats/refresh HTTP/1.1\r\n")
    assert b"\r\nContent-Type: application/json\r\n" in post
    assert post.endswith(b"\r\n\r\n{}")


@pytest.mark.parametrize("name", ["authorization", "AUTHORIZATION", "Authorization"])
async def test_custom_authorization_wins_whatever_its_case(
    server: QueenTestServer, broker: RecordingBroker, name: str
) -> None:
    async with make_client(server.url, bearer_token="tok", headers={name: "Custom xyz"}) as q:
        await q.admin.health()
        await q.queue("ci").push({"data": 1})
    for request in broker.seen():
        assert request.headers["authorization"] == "Custom xyz"
