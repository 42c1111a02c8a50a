"""The ``queen`` commands (click for arguments and completion, rich for tables and bars)."""

from __future__ import annotations

import sys
import uuid
from typing import Any, Callable, Dict, List, Optional

import click

from .._errors import QueenError
from . import _bench, _output, _push

__all__ = ["Failure", "cli", "run"]

DEFAULT_URL = "http://localhost:6632"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Session:
    """The options of the ``queen`` group and the client built from them on first use."""

    def __init__(self, url: str, token: Optional[str]) -> None:
        self.url = url
        self.token = token
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..sync import Queen

            urls = [u.strip() for u in self.url.split(",") if u.strip()]
            self._client = Queen(urls, bearer_token=self.token or None)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


pass_session = click.make_pass_decorator(Session)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        fn
    )


class Failure(click.ClickException):
    """A command that ran and failed: exit 1 with one ``queen: error: ...`` line."""

    def show(self, file: Any = None) -> None:
        click.echo(f"queen: error: {self.format_message()}", err=True)


def _fail(message: str) -> None:
    raise Failure(message)


def _check_answer(answer: Any, what: str) -> Any:
    """An admin answer; a broker error body (status 200, API §1.5) fails the command."""
    if isinstance(answer, dict) and answer.get("error") not in (None, ""):
        _fail(f"{what}: {answer['error']}")
    return answer


@click.group(context_settings=CONTEXT)
@click.option("--url", envvar="QUEEN_URL", default=DEFAULT_URL, show_default=True,
              help="Broker URL (several: comma-separated). Env: QUEEN_URL.")
@click.option("--token", envvar="QUEEN_TOKEN", default=None, show_envvar=True,
              help="Bearer token (better given through QUEEN_TOKEN).")
@click.version_option(package_name="queen-turbo", prog_name="queen")
@click.pass_context
def cli(ctx: click.Context, url: str, token: Optional[str]) -> None:
    """Push, pop, tail and inspect Queen MQ queues.

    Exit codes: 0 ok, 1 failure, 2 usage error. Shell completion: `queen completion bash`.
    """
    session = Session(url, token)
    ctx.obj = session
    ctx.call_on_close(session.close)


# -- push --------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("queue")
@click.argument("data", nargs=-1)
@click.option("--partition", "-p", default=None, help="Partition (default: Default).")
@click.option("--keyed", type=click.IntRange(1, 65536), default=None, metavar="N",
              help="Spread items over N keyed partitions by their key field.")
@click.option("--key-field", default="key", show_default=True,
              help="With --keyed: the payload field holding each item's key.")
@click.option("--batch", type=click.IntRange(1, 10000), default=500, show_default=True,
              help="Items per request when reading stdin.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: when stderr is a terminal).")
@json_option
@pass_session
def push(session: Session, queue: str, data: List[str], partition: Optional[str],
         keyed: Optional[int], key_field: str, batch: int, progress: Optional[bool],
         as_json: bool) -> None:
    """Push DATA (JSON values) to QUEUE, or JSON lines from stdin when no DATA is given.

    Each value becomes one message payload. Prints a summary: sent, duplicates, failed, rate.
    """
    if keyed is not None and partition is not None:
        raise click.UsageError("--keyed and --partition exclude each other")
    builder = session.client.queue(queue)
    if partition is not None:
        builder.partition(partition)
    if keyed is not None:
        builder.keyed(keyed)
    key_field_used = key_field if keyed is not None else None
    stats = _push.PushStats()

    def send(items: List[Dict[str, Any]]) -> Any:
        return builder.push(items)

    interrupted = False
    if data:
        items = []
        for i, value in enumerate(data, 1):
            try:
                items.append(_push.make_item(_parse_json(value), key_field_used))
            except ValueError as exc:
                raise click.UsageError(f"DATA #{i}: {exc}") from None
        error = _push.push_stream(send, iter([items]), stats, lambda n: None)
    else:
        source = sys.stdin.buffer
        if progress is None:
            progress = sys.stderr.isatty()
        try:
            error = _stream_with_progress(send, source, batch, key_field_used, stats, progress)
        except KeyboardInterrupt:
            error, interrupted = None, True
    if as_json:
        _output.emit_json({**stats.summary(), "errors": stats.errors,
                           "interrupted": interrupted})
    else:
        click.echo(stats.line())
        for text in stats.errors:
            click.echo(f"queen: {text}", err=True)
    if interrupted:
        click.echo("queen: interrupted: the rest of the input was not read", err=True)
        sys.exit(130)
    if error is not None:
        _fail(_push.error_text(error))
    if stats.failed:
        sys.exit(1)


def _parse_json(text: str) -> Any:
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError(f"not JSON: {text!r} (quote strings: '\"text\"')") from None


def _stream_with_progress(send: Callable[[List[Dict[str, Any]]], Any], source: Any,
                          batch: int, key_field: Optional[str], stats: _push.PushStats,
                          progress: bool) -> Optional[BaseException]:
    if not progress:
        batches = _push.read_batches(source, batch, key_field, stats, lambda n: None)
        return _push.push_stream(send, batches, stats, lambda n: None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    size = _push.input_size(source)
    columns = [SpinnerColumn(), BarColumn(), TextColumn("{task.fields[sent]:,} sent"),
               TextColumn("{task.fields[rate]:,.0f} msg/s"), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("push", total=size, sent=0, rate=0.0)
        counted = [0]

        def on_sent(n: int) -> None:
            counted[0] += n
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, sent=counted[0], rate=counted[0] / elapsed if elapsed else 0.0)

        batches = _push.read_batches(
            source, batch, key_field, stats, lambda n: bar.advance(task, n)
        )
        return _push.push_stream(send, batches, stats, on_sent)


# -- pop / tail --------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("queue")
@click.option("--batch", "-n", type=click.IntRange(1, 10000), default=1, show_default=True)
@click.option("--group", "-g", default=None, help="Consumer group (default: queue mode).")
@click.option("--partition", "-p", default=None)
@click.option("--ack", is_flag=True, help="Acknowledge the messages after printing them.")
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="Long-poll until a message arrives (or the timeout).")
@click.option("--timeout-millis", type=click.IntRange(1), default=30000, show_default=True)
@pass_session
def pop(session: Session, queue: str, batch: int, group: Optional[str],
        partition: Optional[str], ack: bool, wait: bool, timeout_millis: int) -> None:
    """Pop once from QUEUE and print one JSON line per message.

    Without --ack the messages stay leased until their lease expires.
    """
    q = session.client
    builder = q.queue(queue).batch(batch).wait(wait).timeout_millis(timeout_millis)
    if group:
        builder.group(group)
    if partition:
        builder.partition(partition)
    messages = builder.pop()
    for message in messages:
        click.echo(_output.json_line(message))
    if ack and messages:
        answer = q.ack(messages, True, {"group": group} if group else None)
        if not answer.get("success"):
            _fail(f"ack failed: {answer.get('error')}")


@cli.command(context_settings=CONTEXT)
@click.argument("queue")
@click.option("--group", "-g", default=None, help="Consumer group (default: queue mode).")
@click.option("--partition", "-p", default=None)
@click.option("--from-beginning", "start", flag_value="all",
              help="A new group starts at the oldest message.")
@click.option("--new", "start", flag_value="new",
              help="A new group starts with messages pushed from now on.")
@click.option("--batch", "-n", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after N messages.")
@click.option("--idle-seconds", type=click.FloatRange(0, min_open=True), default=None,
              help="Stop after this long without messages.")
@pass_session
def tail(session: Session, queue: str, group: Optional[str], partition: Optional[str],
         start: Optional[str], batch: int, limit: Optional[int],
         idle_seconds: Optional[float]) -> None:
    """Consume QUEUE and print one JSON line per message, acknowledging after printing.

    Runs until Ctrl-C (messages being printed are acknowledged first), --limit or
    --idle-seconds.
    """
    builder = session.client.queue(queue).batch(batch).limit(limit)
    if group:
        builder.group(group)
    if partition:
        builder.partition(partition)
    if start:
        builder.subscription_mode(start)
    if idle_seconds is not None:
        builder.idle_millis(int(idle_seconds * 1000))
    stdout = sys.stdout

    def show(messages: Any) -> None:
        for message in messages if isinstance(messages, list) else [messages]:
            stdout.write(_output.json_line(message) + "\n")
        stdout.flush()

    builder.consume(show)


# -- inspection --------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@json_option
@pass_session
def queues(session: Session, as_json: bool) -> None:
    """List the queues with their message counts."""
    answer = _check_answer(session.client.admin.list_queues(), "queues")
    rows = (answer or {}).get("queues") or []
    if as_json:
        _output.emit_json(rows)
        return
    _output.emit_table("Queues", rows, [
        ("name", "name"), ("namespace", "namespace"), ("task", "task"),
        ("partitions", "partitions"), ("pending", "messages.pending"),
        ("processing", "messages.processing"), ("total", "messages.total"),
        ("created", "createdAt"),
    ])


STATUS_FIELDS = [
    ("messages", "messages.total"), ("pending", "messages.pending"),
    ("processing", "messages.processing"), ("completed", "messages.completed"),
    ("failed", "messages.failed"), ("dead letter", "messages.deadLetter"),
    ("active leases", "leases.active"), ("ack failures", "errors.ackFailed"),
    ("db errors", "errors.dbErrors"), ("stats age (s)", "statsAge"),
]


@cli.command(context_settings=CONTEXT)
@click.argument("queue", required=False)
@json_option
@pass_session
def status(session: Session, queue: Optional[str], as_json: bool) -> None:
    """Broker-wide counters, or QUEUE's partitions. The broker refreshes them periodically."""
    admin = session.client.admin
    if queue is None:
        answer = _check_answer(admin.get_status(), "status")
        if as_json:
            _output.emit_json(answer)
            return
        rows = [{"field": name, "value": _output._dig(answer, path)}
                for name, path in STATUS_FIELDS]
        _output.emit_table("Broker status", rows, [("", "field"), ("value", "value")])
        return
    answer = _check_answer(admin.get_queue_detail(queue), f"status {queue}")
    if as_json:
        _output.emit_json(answer)
        return
    totals = (answer or {}).get("totals") or {}
    _output.emit_table(
        f"Queue {queue}: {totals.get('total', 0)} messages, {totals.get('pending', 0)} pending",
        (answer or {}).get("partitions") or [],
        [("partition", "name"), ("pending", "messages.pending"),
         ("processing", "messages.processing"), ("completed", "messages.completed"),
         ("failed", "messages.failed"), ("dead letter", "messages.deadLetter"),
         ("total", "messages.total"), ("last activity", "lastActivity")],
    )


@cli.command(context_settings=CONTEXT)
@click.argument("queue")
@click.option("--group", "-g", default=None, help="Only this consumer group's messages.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@json_option
@pass_session
def dlq(session: Session, queue: str, group: Optional[str], limit: int, as_json: bool) -> None:
    """Dead-lettered messages of QUEUE."""
    answer = session.client.queue(queue).dlq(group).limit(limit).get()
    if as_json:
        _output.emit_json(answer)
        return
    _output.emit_table(f"Dead letters of {queue} ({answer['total']})", answer["messages"], [
        ("transactionId", "transactionId"), ("partition", "partition"),
        ("group", "consumerGroup"), ("error", "errorMessage"), ("retries", "retryCount"),
        ("failed at", "failedAt"), ("data", "data"),
    ])


@cli.command(context_settings=CONTEXT)
@click.argument("trace_name")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@json_option
@pass_session
def traces(session: Session, trace_name: str, limit: int, as_json: bool) -> None:
    """Trace events recorded under TRACE_NAME."""
    answer = _check_answer(
        session.client.admin.get_traces_by_name(trace_name, limit=limit), "traces"
    )
    rows = (answer or {}).get("traces") or []
    if as_json:
        _output.emit_json(answer)
        return
    _output.emit_table(f"Traces {trace_name}", rows, [
        ("time", "created_at"), ("event", "event_type"), ("queue", "queue_name"),
        ("partition", "partition_name"), ("transactionId", "transaction_id"),
        ("group", "consumer_group"), ("data", "data"),
    ])


# -- bench -------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def bench() -> None:
    """A quick load test of the broker: push or consume."""


def _bench_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options: List[Callable[[Any], Any]] = [
        click.option("--queue", default=None, help="Queue (default: a new one)."),
        click.option("--messages", "-m", type=click.IntRange(1), default=10000,
                     show_default=True),
        click.option("--batch", "-n", type=click.IntRange(1, 10000), default=100,
                     show_default=True, help="Messages per request."),
        click.option("--payload-bytes", type=click.IntRange(1), default=64, show_default=True),
        json_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_bench(title: str, total: int, body: Callable[[Callable[[int], None]], Any],
               as_json: bool) -> None:
    progress = sys.stderr.isatty() and not as_json
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(title, total=total)
            result = body(lambda n: bar.advance(task, n))
    else:
        result = body(lambda n: None)
    row = result.row()
    if as_json:
        _output.emit_json(row)
        return
    _output.emit_table(f"queen bench {result.scenario}",
                       [{"metric": k, "value": v} for k, v in row.items() if k != "scenario"],
                       [("metric", "metric"), ("value", "value")])


@bench.command("push", context_settings=CONTEXT)
@_bench_options
@pass_session
def bench_push(session: Session, queue: Optional[str], messages: int, batch: int,
               payload_bytes: int, as_json: bool) -> None:
    """Push MESSAGES messages in batches and report rate, client CPU and latency."""
    name = queue or f"queen-bench-{uuid.uuid4().hex[:8]}"
    q = session.client
    _run_bench("push", messages, lambda advance: _bench.bench_push(
        q, name, messages, batch, payload_bytes, advance), as_json)


@bench.command("consume", context_settings=CONTEXT)
@_bench_options
@pass_session
def bench_consume(session: Session, queue: Optional[str], messages: int, batch: int,
                  payload_bytes: int, as_json: bool) -> None:
    """Fill a queue with MESSAGES messages (untimed), then pop and ack them in batches."""
    name = queue or f"queen-bench-{uuid.uuid4().hex[:8]}"
    q = session.client
    if queue is None:
        _bench.fill(q, name, messages, payload_bytes)
    _run_bench("consume", messages, lambda advance: _bench.bench_consume(
        q, name, messages, batch, advance), as_json)


# -- completion --------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL, e.g. `eval "$(queen completion bash)"`."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "queen", "_QUEEN_COMPLETE").source())


# -- entry -------------------------------------------------------------------------------


def run(argv: Optional[List[str]] = None) -> None:
    """Run the CLI: one readable error line and exit 1 on failure, 2 on a usage error."""
    try:
        cli.main(args=argv, prog_name="queen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.exit(130)
    except BrokenPipeError:
        import os

        # The reader went away (`queen tail q | head`): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except QueenError as exc:
        click.echo(f"queen: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        click.echo(f"queen: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
