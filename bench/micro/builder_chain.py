"""Per-call client CPU of the builder chains a producer or consumer runs for every message or
request, with no I/O: what the input checks of the setters cost.

    python bench/micro/builder_chain.py [label]

Prints one line of medians-of-best (µs per call). To compare two trees, run it from each
(``PYTHONPATH=<tree>``), interleaved, and compare within one run.
"""

from __future__ import annotations

import sys
import timeit
from typing import Any, Callable, Dict

from queen import Queen

ITEM: Dict[str, Any] = {"data": {"n": 1, "note": "x" * 150}}
BUFFER = {"message_count": 100, "time_millis": 100}


def main(label: str) -> None:
    queen = Queen("http://127.0.0.1:1", handle_signals=False)
    chains: Dict[str, Callable[[], Any]] = {
        "queue(name)": lambda: queen.queue("events"),
        "queue().partition().push(item)": lambda: queen.queue("events").partition("p1").push(
            ITEM
        ),
        "queue().batch().wait()": lambda: queen.queue("events").batch(10).wait(False),
        "queue().buffer().push([item])": lambda: queen.queue("events").buffer(BUFFER).push(
            [ITEM]
        ),
    }
    number = 20000
    best = {
        name: min(timeit.repeat(chain, number=number, repeat=7)) / number * 1e6
        for name, chain in chains.items()
    }
    print(label, " | ".join(f"{name}: {us:.2f} µs" for name, us in best.items()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
