"""Run the in-process Queen broker standalone: ``python -m queen.testing --port 6632``.

Prints one URL per node on stdout once every node listens, then serves until SIGINT or
SIGTERM, and exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import List, Optional

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m queen.testing",
        description="An in-process Queen 0.15 broker that behaves like the real one on the wire.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=6632, help="port of the first node; 0 = any free port"
    )
    parser.add_argument("--nodes", type=int, default=1, help="listeners sharing one engine")
    parser.add_argument(
        "--http2", action="store_true", help="also accept cleartext HTTP/2 (prior knowledge)"
    )
    parser.add_argument("--status-mode", choices=("wire", "intended"), default="wire")
    parser.add_argument("--long-poll", choices=("prompt", "wire"), default="wire")
    parser.add_argument(
        "--idle-timeout", type=float, default=10.0, help="idle keep-alive close, seconds"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    from ._server import QueenTestServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt still works
            pass
    server = QueenTestServer(
        host=args.host,
        port=args.port,
        nodes=args.nodes,
        http2=args.http2,
        status_mode=args.status_mode,
        long_poll=args.long_poll,
        idle_timeout=args.idle_timeout,
    )
    async with server:
        sys.stdout.write("".join(url + "\n" for url in server.urls))
        sys.stdout.flush()
        await stop.wait()


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m queen.testing``."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
