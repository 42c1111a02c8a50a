"""Ratios of one pytest-benchmark run: ``python bench/micro/report.py RUN.json``.

Prints a Markdown table per (component, size): the median of each implementation and its
ratio to the pure twin and to the floor, when there is one.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Dict, Tuple


def main(path: str) -> None:
    with open(path) as f:
        run = json.load(f)
    rows: Dict[Tuple[str, int], Dict[str, float]] = defaultdict(dict)
    for bench in run["benchmarks"]:
        info = bench["extra_info"]
        rows[(info["component"], info["size"])][info["impl"]] = bench["stats"]["median"]
    print("| component | size | compiled | pure | floor | pure / compiled | compiled / floor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (component, size), medians in sorted(rows.items()):
        c, p, fl = (medians.get(k) for k in ("compiled", "pure", "floor"))

        def us(v: float | None) -> str:
            return f"{v * 1e6:.2f} µs" if v is not None else "-"

        speedup = f"{p / c:.1f}x" if c and p else "-"
        vs_floor = f"{c / fl:.2f}x" if c and fl else "-"
        print(f"| {component} | {size} | {us(c)} | {us(p)} | {us(fl)} | {speedup} | {vs_floor} |")


if __name__ == "__main__":
    main(sys.argv[1])
