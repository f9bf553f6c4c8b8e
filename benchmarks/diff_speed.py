"""Diff speed: how long ``dbbench diff`` of two run files takes, and summarising a run's histograms.

The target (issue 10): ``dbbench diff tests/data/diff_base.json tests/data/diff_new.json``
in under 0.3 s, start-up included.  Percentiles and their confidence intervals are
ranks looked up in each runner's HdrHistogram (``LatencyHistogram.value_at_rank``),
a diff asks for dozens of them, and a live run summarises every runner about once
a second: this prints what that costs.  The command runs as its own process each
time (``python -m dbbench diff ...``, output discarded); summarising is timed in
this process, on histograms read afresh from the files each time (so no lookup
table is carried over from one repetition to the next).  Figures are printed, never
asserted: the machine's load moves them.  (``timing.py`` beside this file says how
the commands are run.)

    python benchmarks/diff_speed.py
    python benchmarks/diff_speed.py --repeat 21
    python benchmarks/diff_speed.py BASE.json NEW.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from timing import Command, describe, timed

from dbbench.histogram import LatencyHistogram
from dbbench.stats import summarize

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
#: the whole ``dbbench diff`` command, start-up included, should take less than this
TARGET_S = 0.3


def latency_histograms(path: Path) -> list[dict[str, Any]]:
    """The serialised latency histogram of every runner (and sweep cell) in a result file."""
    found = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            histograms = value.get("histograms")
            if isinstance(histograms, dict) and histograms.get("latency"):
                found.append(histograms["latency"])
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(json.loads(path.read_text()))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", type=Path, default=DATA / "diff_base.json")
    parser.add_argument("new", nargs="?", type=Path, default=DATA / "diff_new.json")
    parser.add_argument("--repeat", type=int, default=11, help="runs of each (default 11)")
    args = parser.parse_args()

    diff = Command([sys.executable, "-m", "dbbench", "diff", str(args.base), str(args.new)])
    histograms = latency_histograms(args.base) + latency_histograms(args.new)

    def summarise() -> None:
        for data in histograms:
            summarize(LatencyHistogram.from_dict(data))

    def read() -> None:  # the part of summarise() that is not percentiles
        for data in histograms:
            LatencyHistogram.from_dict(data)

    print(f"dbbench diff {args.base.name} {args.new.name}; target under {TARGET_S} s")
    print(f"  the whole command: {describe(timed(diff, args.repeat))}")
    print(f"  its CPU time:      {describe(diff.cpu_s)}")
    counts = ", ".join(f"{data['count']:,}" for data in histograms)
    print(f"{len(histograms)} latency histograms ({counts} operations)")
    print(f"  read from the files: {describe(timed(read, args.repeat))}")
    print(f"  read and summarised: {describe(timed(summarise, args.repeat))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
