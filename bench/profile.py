"""Profile queen-turbo's hot path in one scenario, by CPU time (not wall time).

``python -m bench.profile SCENARIO [--n 20000] [--top 25] [--url URL]`` starts its own
``python -m queen.testing`` process (unless ``--url`` or ``QUEEN_URL`` is given), runs the
scenario of ``bench/runners/queen_client.py`` under cProfile with ``time.process_time`` as
the clock (a loopback ``send()`` that is descheduled costs wall time, not client CPU), and
prints the functions by own CPU time. ``py-spy record -o out.svg -- python
bench/runners/queen_client.py SCENARIO '{"url": ...}'`` gives the same as a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profile")
    ap.add_argument("scenario")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--url", default=os.environ.get("QUEEN_URL"))
    ap.add_argument("--out", default=None, help="also save the raw stats here")
    args = ap.parse_args()
    broker = None
    url = args.url
    if url is None:
        broker = subprocess.Popen([sys.executable, "-m", "queen.testing", "--port", "0"],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=ROOT))
        assert broker.stdout is not None
        url = broker.stdout.readline().strip()
    try:
        sys.path[:0] = [ROOT, os.path.join(BENCH, "runners")]
        sys.argv = ["queen_client.py", args.scenario, json.dumps({"url": url, "n": args.n})]
        import queen_client  # type: ignore[import-not-found]

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        asyncio.run(queen_client.main())
        profiler.disable()
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats("tottime").print_stats(args.top)
    sys.stderr.write(stream.getvalue())


if __name__ == "__main__":
    main()
