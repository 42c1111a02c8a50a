"""HTTP/2 through a real ingress: nginx (TLS + ALPN, h2c) in front of the test broker.

What is asserted comes from both ends: the client's own view (``Queen.http_protocols``, its
HTTP/2 connection count) and nginx's access log (``$server_protocol``, ``$connection``).
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest

from queen import Queen, QueenConnectionError, QueenHttpError, QueenValidationError
from queen.testing import QueenTestServer

WORKERS = 30
MESSAGES = 40
POLL_MILLIS = 4000
GUARD = 20.0  # seconds: a hang guard, not a performance bound


def _client(url: str, **options: Any) -> Queen:
    options.setdefault("handle_signals", False)
    options.setdefault("retry_delay_millis", 200)
    options.setdefault("retry_attempts", 5)
    return Queen(url, **options)


async def _until(predicate: Callable[[], bool], what: str) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(wait(), GUARD)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class Scenario:
    """WORKERS long-polling consumer workers on one queue; pushes while they are parked."""

    def __init__(self, queen: Queen, lease_time: int = 30) -> None:
        self.queen = queen
        self.lease_time = lease_time
        self.queue = "q-" + uuid.uuid4().hex[:8]
        self.seen: List[int] = []
        self.task: Optional[asyncio.Task] = None

    async def start(self) -> None:
        await self.queen.queue(self.queue).config({"lease_time": self.lease_time}).create()
        await self.queen.queue("side-" + self.queue).create()

        async def handler(message: Dict[str, Any]) -> None:
            self.seen.append(message["data"]["n"])

        builder = (
            self.queen.queue(self.queue)
            .concurrency(WORKERS)
            .batch(1)
            .timeout_millis(POLL_MILLIS)
            .consume(handler)
        )

        async def run() -> None:
            await builder

        self.task = asyncio.create_task(run())

    async def push(self, numbers: range) -> None:
        for n in numbers:
            await asyncio.wait_for(self.queen.queue(self.queue).push([{"data": {"n": n}}]), GUARD)

    async def side_push(self) -> None:
        await asyncio.wait_for(self.queen.queue("side-" + self.queue).push([{"data": {}}]), GUARD)

    async def wait_consumed(self, count: int) -> None:
        await _until(lambda: len(self.seen) >= count, f"{count} messages consumed")

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.queen.close()

    def assert_exactly_once(self, count: int) -> None:
        counts = collections.Counter(self.seen)
        assert sorted(counts) == list(range(count))
        assert [n for n, c in counts.items() if c > 1] == []


def _transport(queen: Queen) -> Any:
    wire = queen._transport._fallback  # type: ignore[attr-defined]  # httpx behind the router
    assert wire is not None
    return wire


async def _run_scenario(queen: Queen, url: str, *, over_h2: bool) -> Scenario:
    scenario = Scenario(queen)
    await scenario.start()
    if over_h2:
        origin = url
        await _until(lambda: _transport(queen).h2_streams(origin) >= WORKERS, "parked long-polls")
    else:
        await asyncio.sleep(0.3)
    # Pushes (to another queue) complete while every worker holds a long-poll.
    for _ in range(5):
        await scenario.side_push()
    if over_h2:
        assert _transport(queen).h2_streams(url) >= WORKERS
    await scenario.push(range(MESSAGES))
    await scenario.wait_consumed(MESSAGES)
    await scenario.stop()
    scenario.assert_exactly_once(MESSAGES)
    return scenario


async def test_tls_http2_multiplexes_consumers_and_pushes_on_one_connection(ingress):
    nginx = ingress.nginx
    url = nginx.url("tls")
    mark = nginx.mark()
    queen = _client(url, tls_ca_bundle=ingress.pki.ca)
    assert queen.http_protocols == {url: None}
    await _run_scenario(queen, url, over_h2=True)
    assert queen.http_protocols == {url: "HTTP/2"}

    lines = nginx.log_since(mark, "tls")
    pops = [line for line in lines if "/pop/" in line.uri]
    assert len(pops) >= MESSAGES
    assert {line.protocol for line in lines} == {"HTTP/2.0"}
    assert len({line.connection for line in lines}) == 1


async def test_h2c_prior_knowledge_through_nginx(ingress):
    nginx = ingress.nginx
    url = nginx.url("h2c")
    mark = nginx.mark()
    queen = _client(url, http2_prior_knowledge=True)
    await _run_scenario(queen, url, over_h2=True)
    assert queen.http_protocols == {url: "HTTP/2"}
    lines = nginx.log_since(mark, "h2c")
    assert {line.protocol for line in lines} == {"HTTP/2.0"}
    assert len({line.connection for line in lines}) == 1


async def test_same_scenario_over_http1_directly_to_the_broker():
    async with QueenTestServer() as server:
        queen = _client(server.url)
        await _run_scenario(queen, server.url, over_h2=False)
        assert queen.http_protocols == {server.url: "HTTP/1.1"}
        # HTTP/1.1 needs a socket per parked long-poll
        assert server.nodes[0].accepted_connections > WORKERS


async def test_beyond_max_concurrent_streams_a_second_connection_opens(ingress):
    nginx = ingress.nginx
    url = nginx.url("narrow")  # http2_max_concurrent_streams 8
    mark = nginx.mark()
    queen = _client(url, tls_ca_bundle=ingress.pki.ca)
    scenario = Scenario(queen)
    await scenario.start()
    await _until(lambda: _transport(queen).h2_streams(url) >= WORKERS, "parked long-polls")
    assert _transport(queen).h2_connections(url) == -(-WORKERS // 8)
    await scenario.side_push()  # not queued behind the long-polls
    await scenario.push(range(10))
    await scenario.wait_consumed(10)
    await scenario.stop()
    scenario.assert_exactly_once(10)
    lines = nginx.log_since(mark, "narrow")
    assert {line.protocol for line in lines} == {"HTTP/2.0"}
    assert len({line.connection for line in lines}) >= -(-WORKERS // 8)


async def test_nginx_restart_mid_run_loses_nothing(ingress):
    nginx = ingress.nginx
    url = nginx.url("tls")
    queen = _client(url, tls_ca_bundle=ingress.pki.ca)
    # A pop answer that nginx received from the broker but had not forwarded when it stopped
    # is lost in transit; the broker redelivers it when its lease expires, so keep the lease
    # well inside the guard.
    scenario = Scenario(queen, lease_time=3)
    await scenario.start()
    await _until(lambda: _transport(queen).h2_streams(url) >= WORKERS, "parked long-polls")
    await scenario.push(range(MESSAGES // 2))
    await scenario.wait_consumed(MESSAGES // 2)
    await _until(lambda: _transport(queen).h2_streams(url) >= WORKERS, "parked long-polls")
    mark = nginx.mark()
    # Stop nginx under the parked long-polls and while pushes are in flight, then restart it.
    pushes = asyncio.create_task(scenario.push(range(MESSAGES // 2, MESSAGES)))
    await asyncio.sleep(0.05)
    await asyncio.get_running_loop().run_in_executor(None, nginx.restart)
    await asyncio.wait_for(pushes, GUARD)
    await scenario.wait_consumed(MESSAGES)
    await asyncio.sleep(0.5)  # a late duplicate would show up here
    await scenario.stop()
    scenario.assert_exactly_once(MESSAGES)
    after = nginx.log_since(mark, "tls")
    assert after and {line.protocol for line in after} == {"HTTP/2.0"}


async def test_unknown_ca_fails_verification_and_the_ca_bundle_option_fixes_it(ingress):
    url = ingress.nginx.url("tls")
    for options in ({}, {"tls_ca_bundle": ingress.pki.other_ca}):
        queen = _client(url, retry_attempts=1, **options)
        with pytest.raises(QueenConnectionError, match="certificate verification failed"):
            await queen.queue("verify").create()
        await queen.close()
    queen = _client(url, tls_ca_bundle=ingress.pki.ca)
    await queen.queue("verify").create()
    assert queen.http_protocols == {url: "HTTP/2"}
    await queen.close()


def _hashed_ca_dir(ca: str, directory: Any) -> str:
    """A directory holding ``ca`` under its OpenSSL subject-hash name (what SSL_CERT_DIR and
    a capath expect)."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to hash a CA directory")
    digest = subprocess.run([openssl, "x509", "-hash", "-noout", "-in", ca],
                            check=True, capture_output=True, text=True).stdout.strip()
    directory.mkdir(exist_ok=True)
    shutil.copy(ca, directory / f"{digest}.0")
    return str(directory)


@pytest.mark.parametrize("server", ["tls", "h1"])  # the HTTP/2 pool and the httpx route
@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
async def test_ssl_cert_file_and_dir_are_trusted_and_tls_ca_bundle_wins(
    ingress, monkeypatch, tmp_path, variable, server
):
    url = ingress.nginx.url(server)
    pki = ingress.pki
    trusted = (pki.ca if variable == "SSL_CERT_FILE"
               else _hashed_ca_dir(pki.ca, tmp_path / "trusted"))
    untrusted = (pki.other_ca if variable == "SSL_CERT_FILE"
                 else _hashed_ca_dir(pki.other_ca, tmp_path / "untrusted"))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    monkeypatch.setenv(variable, trusted)
    queen = _client(url, retry_attempts=1)
    await queen.queue("env-ca").create()
    assert queen.http_protocols == {url: "HTTP/2" if server == "tls" else "HTTP/1.1"}
    await queen.close()

    # The explicit option takes precedence over the environment, both ways.
    queen = _client(url, retry_attempts=1, tls_ca_bundle=pki.other_ca)
    with pytest.raises(QueenConnectionError, match="certificate verification failed"):
        await queen.queue("env-ca").create()
    await queen.close()
    monkeypatch.setenv(variable, untrusted)
    queen = _client(url, retry_attempts=1)
    with pytest.raises(QueenConnectionError, match="certificate verification failed"):
        await queen.queue("env-ca").create()
    await queen.close()
    queen = _client(url, retry_attempts=1, tls_ca_bundle=pki.ca)
    await queen.queue("env-ca").create()
    await queen.close()


async def test_an_unusable_ssl_cert_variable_is_named(monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(QueenValidationError, match="SSL_CERT_FILE: no such file or directory"):
        Queen("https://localhost:1", handle_signals=False)


async def test_insecure_skip_verify_is_explicit_and_logged(ingress, caplog):
    url = ingress.nginx.url("tls")
    with caplog.at_level("WARNING", logger="queen.client.transport"):
        queen = _client(url, tls_insecure_skip_verify=True)
    assert any("verification is DISABLED" in r.getMessage() for r in caplog.records)
    await queen.queue("insecure").create()
    await queen.close()


async def test_client_certificate_required_by_nginx(ingress):
    url = ingress.nginx.url("mtls")
    pki = ingress.pki
    queen = _client(url, tls_ca_bundle=pki.ca, retry_attempts=1)
    with pytest.raises(QueenHttpError) as info:  # nginx: 400 No required SSL certificate
        await queen.queue("mtls").create()
    assert info.value.status == 400
    await queen.close()
    queen = _client(
        url, tls_ca_bundle=pki.ca, tls_client_cert=pki.client_cert, tls_client_key=pki.client_key
    )
    await queen.queue("mtls").create()
    await queen.queue("mtls").push([{"data": {"n": 1}}])
    messages = await queen.queue("mtls").batch(1).wait(False).pop()
    assert [m["data"] for m in messages] == [{"n": 1}]
    assert queen.http_protocols == {url: "HTTP/2"}
    await queen.close()


async def test_alpn_falls_back_to_http1_when_nginx_offers_only_http1(ingress):
    nginx = ingress.nginx
    url = nginx.url("h1")
    mark = nginx.mark()
    queen = _client(url, tls_ca_bundle=ingress.pki.ca)
    await queen.queue("alpn").create()
    await queen.queue("alpn").push([{"data": {"n": 1}}])
    assert len(await queen.queue("alpn").batch(1).wait(False).pop()) == 1
    assert queen.http_protocols == {url: "HTTP/1.1"}
    await queen.close()
    lines = nginx.log_since(mark, "h1")
    assert len(lines) >= 3
    assert {line.protocol for line in lines} == {"HTTP/1.1"}


async def test_prior_knowledge_against_the_http1_only_broker_names_the_option():
    async with QueenTestServer(http2=False) as server:
        queen = _client(server.url, http2_prior_knowledge=True, retry_attempts=5)
        with pytest.raises(QueenConnectionError, match="http2_prior_knowledge") as info:
            await asyncio.wait_for(queen.queue("pk").create(), GUARD)
        assert "rejected HTTP/2 prior knowledge" in str(info.value)
        # A configuration error: raised at once, not retried.
        assert info.value.retriable is False
        assert server.nodes[0].accepted_connections == 1
        await queen.close()
        queen = _client(server.url)  # the default: HTTP/1.1
        await queen.queue("pk").create()
        assert queen.http_protocols == {server.url: "HTTP/1.1"}
        await queen.close()


@pytest.mark.parametrize("server", ["tls", "h1", "h2c"])
async def test_raw_names_through_the_ingress(ingress, server):
    # Names travel raw (the broker never decodes a path): nginx passes the raw target on.
    url = ingress.nginx.url(server)
    options = {} if server == "h2c" else {"tls_ca_bundle": ingress.pki.ca}
    if server == "h2c":
        options["http2_prior_knowledge"] = True
    name = f"ümlaut-{uuid.uuid4().hex[:6]}#1%"
    queen = _client(url, **options)
    await queen.queue(name).partition("p😀").push([{"data": {"n": 1}}])
    (message,) = await queen.queue(name).partition("p😀").batch(1).wait(False).pop()
    assert (message["data"], message["partition"]) == ({"n": 1}, "p😀")
    assert (await queen.queue(name).delete())["existed"] is True
    await queen.close()
