"""Start-up: ``dbbench --help`` and ``--version`` against ``python -c "import click"``.

The target (issue 10): each at most 3x the time of importing click alone, which
is what any click program pays before doing anything.  Every command runs as its
own process, many times (interleaved, so a change in the machine's load touches
all of them alike); the medians of wall-clock and of CPU time (user + system,
which a loaded machine stretches less) are printed with their ratios to click's.
Figures are printed, never asserted; ``tests/unit/test_startup.py`` checks, untimed,
that none of the heavy packages is imported.  (``timing.py`` beside this file says
how the commands are run.)

    python benchmarks/startup.py
    python benchmarks/startup.py --repeat 101
"""

from __future__ import annotations

import argparse
import statistics
import sys

from timing import Command, describe, timed

#: dbbench's start-up should take at most this many times click's
TARGET_RATIO = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=41, help="runs of each (default 41)")
    args = parser.parse_args()

    commands = {
        'python -c "import click"': Command([sys.executable, "-c", "import click"]),
        "dbbench --help": Command([sys.executable, "-m", "dbbench", "--help"]),
        "dbbench --version": Command([sys.executable, "-m", "dbbench", "--version"]),
    }
    wall: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            wall[name] += timed(command, 1)

    baseline = 'python -c "import click"'
    print(f"start-up, {args.repeat} runs each; target: at most {TARGET_RATIO:g}x {baseline}")
    for name, command in commands.items():
        print(f"{name}")
        print(f"  wall: {describe(wall[name])}")
        print(f"  CPU:  {describe(command.cpu_s)}")
        if name != baseline:
            ratios = [
                statistics.median(seconds) / statistics.median(base)
                for seconds, base in (
                    (wall[name], wall[baseline]),
                    (command.cpu_s, commands[baseline].cpu_s),
                )
            ]
            print(f"  ratio to click: {ratios[0]:.2f}x wall, {ratios[1]:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
