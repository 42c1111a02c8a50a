"""The ``queen`` console script, run for real in a subprocess against both brokers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, List, Optional, Tuple

import orjson
import pytest

from queen import Queen
from queen._keyed import key_partition
from queen.cli import _push

QUEEN = shutil.which("queen", path=str(Path(sys.executable).parent)) or shutil.which("queen")
pytestmark = pytest.mark.skipif(QUEEN is None, reason="the queen console script is not installed")


async def queen_cli(
    url: str, *args: str, stdin: Optional[bytes] = None, env: Optional[dict] = None
) -> Tuple[int, str, str]:
    """Run ``queen --url URL ARGS`` while this test's loop keeps serving the broker double."""
    assert QUEEN is not None
    proc = await asyncio.create_subprocess_exec(
        QUEEN, "--url", url, *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def drain(url: str, name: str, group: Optional[str] = None) -> List[Any]:
    out: List[Any] = []
    async with Queen(url, handle_signals=False) as queen:
        while True:
            builder = queen.queue(name).batch(500).wait(False)
            if group:
                builder.group(group)
            batch = await builder.pop()
            if not batch:
                return out
            out.extend(batch)
            await queen.ack(batch, True, {"group": group} if group else None)


async def test_push_arguments_then_pop_and_ack(any_broker) -> None:
    name = any_broker.name("clipush")
    code, out, err = await queen_cli(any_broker.url, "push", name, '{"a": 1}', '"text"', "3")
    assert code == 0, err
    assert out.startswith("sent 3, duplicates 0, failed 0")

    code, out, err = await queen_cli(any_broker.url, "pop", name, "--batch", "10", "--ack")
    assert code == 0, err
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert [m["data"] for m in lines] == [{"a": 1}, "text", 3]
    assert all(m["partition"] == "Default" for m in lines)
    assert await drain(any_broker.url, name) == []  # acked


async def test_push_streams_json_lines_from_stdin(any_broker, tmp_path: Path) -> None:
    name = any_broker.name("clistdin")
    lines = b"".join(orjson.dumps({"n": i}) + b"\n" for i in range(3000)) + b"\n"
    code, out, err = await queen_cli(
        any_broker.url, "push", name, "--batch", "250", "--json", stdin=lines
    )
    assert code == 0, err
    summary = orjson.loads(out)
    assert (summary["sent"], summary["duplicates"], summary["failed"]) == (3000, 0, 0)
    assert summary["rate"] > 0
    assert [m["data"]["n"] for m in await drain(any_broker.url, name)] == list(range(3000))


async def test_push_reports_bad_lines_and_duplicates(any_broker) -> None:
    name = any_broker.name("clibad")
    code, _out, err = await queen_cli(any_broker.url, "push", name, '"first"')
    assert code == 0, err
    stdin = b'{"ok": 1}\nnot json\n{"ok": 2}\n'
    code, out, _err = await queen_cli(any_broker.url, "push", name, "--json", stdin=stdin)
    assert code == 1
    summary = orjson.loads(out)
    assert (summary["sent"], summary["failed"]) == (2, 1)
    assert "line 2" in summary["errors"][0]
    assert [m["data"] for m in await drain(any_broker.url, name)] == ["first", {"ok": 1}, {"ok": 2}]


async def test_keyed_push(any_broker) -> None:
    name = any_broker.name("clikeyed")
    stdin = b"".join(orjson.dumps({"user": f"u{i % 7}", "i": i}) + b"\n" for i in range(70))
    code, _out, err = await queen_cli(
        any_broker.url, "push", name, "--keyed", "4", "--key-field", "user", stdin=stdin
    )
    assert code == 0, err
    messages = await drain(any_broker.url, name)
    assert len(messages) == 70
    assert all(m["partition"] == key_partition(m["data"]["user"], 4) for m in messages)


async def test_tail_prints_and_acks(any_broker) -> None:
    name = any_broker.name("clitail")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).push([{"data": i} for i in range(12)])
    code, out, err = await queen_cli(
        any_broker.url, "tail", name, "--group", "g", "--from-beginning", "--batch", "5",
        "--limit", "12",
    )
    assert code == 0, err
    assert [orjson.loads(line)["data"] for line in out.splitlines()] == list(range(12))
    assert await drain(any_broker.url, name, "g") == []  # acknowledged after printing


async def test_inspection_commands_json_and_tables(any_broker) -> None:
    name = any_broker.name("cliinspect")
    trace_name = any_broker.name("trace")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        await queen.queue(name).push([{"data": 1}])
        (message,) = await queen.queue(name).pop()
        await message.trace({"data": {"step": 1}, "traceName": trace_name})
        await queen.ack(message)

    code, out, err = await queen_cli(any_broker.url, "queues", "--json")
    assert code == 0, err
    assert name in [q["name"] for q in orjson.loads(out)]
    code, out, err = await queen_cli(any_broker.url, "queues")
    assert code == 0 and name in out and "pending" in out

    code, out, err = await queen_cli(any_broker.url, "status", name, "--json")
    assert code == 0, err
    assert [p["name"] for p in orjson.loads(out)["partitions"]] == ["Default"]
    code, out, err = await queen_cli(any_broker.url, "status", name)
    assert code == 0 and "Default" in out
    code, out, err = await queen_cli(any_broker.url, "status")
    assert code == 0 and "pending" in out

    code, out, err = await queen_cli(any_broker.url, "dlq", name, "--json")
    assert code == 0, err
    assert orjson.loads(out)["messages"] == []

    code, out, err = await queen_cli(any_broker.url, "traces", trace_name, "--json")
    assert code == 0, err
    assert [t["data"] for t in orjson.loads(out)["traces"]] == [{"step": 1}]
    code, out, err = await queen_cli(any_broker.url, "traces", trace_name)
    assert code == 0 and name in out


async def test_bench_push_and_consume(any_broker) -> None:
    for scenario in ("push", "consume"):
        code, out, err = await queen_cli(
            any_broker.url, "bench", scenario, "-m", "300", "-n", "50", "--json"
        )
        assert code == 0, err
        row = orjson.loads(out)
        assert row["scenario"] == scenario and row["messages"] == 300
        assert row["msgs_per_s"] > 0 and row["cpu_ms_per_1000"] > 0
        assert row["latency_ms_p50"] <= row["latency_ms_p99"]


async def test_failures_exit_1_with_one_line(any_broker) -> None:
    code, _out, err = await queen_cli(any_broker.url, "status", any_broker.name("missing"))
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "not found" in err.lower()
    assert err.startswith("queen: error: ")


def run_cli(*args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    assert QUEEN is not None
    return subprocess.run(
        [QUEEN, *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )


def test_unreachable_broker_is_one_error_line() -> None:
    done = run_cli("--url", "http://127.0.0.1:9", "queues", env={"QUEEN_URL": ""})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("queen: error: ")
    assert "QueenConnectError" in done.stderr  # refused while connecting


@pytest.mark.parametrize(
    "args",
    [["push"], ["nosuchcommand"], ["pop", "q", "--batch", "0"], ["push", "q", "not-json"],
     ["push", "q", "--keyed", "2", "--partition", "p", "1"], ["tail", "q", "--bogus"]],
)
def test_usage_errors_exit_2(args: List[str]) -> None:
    done = run_cli("--url", "http://127.0.0.1:9", *args)
    assert done.returncode == 2, done.stderr
    assert "Error" in done.stderr


@pytest.mark.slow
def test_help_on_every_command() -> None:
    from queen.cli._app import cli

    paths = [[]]
    for name, command in cli.commands.items():
        paths.append([name])
        for sub in getattr(command, "commands", {}):
            paths.append([name, sub])
    for path in paths:
        done = run_cli(*path, "--help")
        assert done.returncode == 0 and "Usage: queen" in done.stdout, path


def test_completion_script() -> None:
    done = run_cli("completion", "bash")
    assert done.returncode == 0 and "_QUEEN_COMPLETE" in done.stdout
    done = run_cli(env={"_QUEEN_COMPLETE": "bash_complete", "COMP_WORDS": "queen ta",
                        "COMP_CWORD": "1"})
    assert "tail" in done.stdout


def test_python_dash_m_queen() -> None:
    done = subprocess.run([sys.executable, "-m", "queen", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "Usage: queen" in done.stdout


def test_missing_extra_prints_an_install_hint(tmp_path: Path) -> None:
    fake = tmp_path / "click"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named click')\n")
    done = run_cli("queues", env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip() == "queen: the command-line tool needs its extra: " \
        "pip install 'queen-turbo[cli]'"


def test_stdin_streams_through_a_bounded_buffer() -> None:
    """The reader never runs more than the queue depth (plus the batch in hand) ahead of
    the requests, however long the input: memory stays flat."""
    stats = _push.PushStats()
    produced = [0]
    ahead: List[int] = []
    sent = [0]
    lock = threading.Lock()

    def batches():
        for i in range(200):
            with lock:
                produced[0] += 1
            yield [{"data": i}]

    def send(items: list) -> list:
        with lock:
            ahead.append(produced[0] - sent[0])
        time.sleep(0.001)
        with lock:
            sent[0] += 1
        return [{"status": "queued"}]

    assert _push.push_stream(send, batches(), stats, lambda n: None) is None
    assert stats.sent == 200
    assert max(ahead) <= _push.QUEUE_DEPTH + 2


async def test_token_from_the_environment_is_sent_as_bearer() -> None:
    seen: List[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        body = b'{"queues": []}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        code, out, err = await queen_cli(
            f"http://127.0.0.1:{port}", "queues", "--json", env={"QUEEN_TOKEN": "s3cret"}
        )
    finally:
        server.close()
    assert code == 0, err
    assert orjson.loads(out) == []
    assert b"authorization: bearer s3cret" in seen[0].lower()


async def test_ctrl_c_stops_tail_after_acking_what_it_printed(any_broker) -> None:
    name = any_broker.name("clisigint")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).push([{"data": i} for i in range(3)])
    assert QUEEN is not None
    proc = await asyncio.create_subprocess_exec(
        QUEEN, "--url", any_broker.url, "tail", name, "--group", "g", "--batch", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines = [await asyncio.wait_for(proc.stdout.readline(), 30) for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 130, err.decode()
    assert [orjson.loads(line)["data"] for line in lines] == [0, 1, 2]
    assert out == b"" and err.strip() == b""  # click ends the ^C line
    assert await drain(any_broker.url, name, "g") == []  # all three were acknowledged


async def test_ctrl_c_during_a_stdin_push_reports_what_was_sent(any_broker) -> None:
    name = any_broker.name("clipushint")
    assert QUEEN is not None
    proc = await asyncio.create_subprocess_exec(
        QUEEN, "--url", any_broker.url, "push", name, "--batch", "100", "--json",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"".join(b'{"n": %d}\n' % i for i in range(1000)))
    await proc.stdin.drain()  # stdin stays open: the push waits for more lines
    await asyncio.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 130, err.decode()
    summary = orjson.loads(out)
    assert summary["interrupted"] is True and summary["failed"] == 0
    messages = await drain(any_broker.url, name)
    assert summary["sent"] == len(messages)
    assert [m["data"]["n"] for m in messages] == list(range(len(messages)))
