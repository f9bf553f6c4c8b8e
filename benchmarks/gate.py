"""Gate calibration: how often does ``--fail-on mean:10%`` cry wolf, and does it catch a
real regression?

Trials of the two CI recipes of docs/guide/ci.md, each as a user would type it:

- ``saved``: ``dbbench run --runner pool --repeat 5 -o A.json``, the same for B (its own
  settings file), then ``dbbench diff A.json B.json --fail-on mean:10%``;
- ``duet``: ``dbbench compare --runner pool --variant base=base.toml --variant
  new=new.toml --repeat 5 --fail-on mean:10%`` (both in one run, interleaved).

Exit status 4 is an alarm, 0 a pass, anything else an error (counted apart).  An A/A
trial gives both sides the same settings: every alarm is a false one.  An A/B trial
turns ``pool_pre_ping`` on in B, one more round trip per checkout: a real regression,
which every alarm catches.  A/A and A/B trials alternate, and so do the recipes, so a
drift of the machine falls on each alike.

Two conditions: ``loaded``, with one core kept busy by a process of this script
(``while True: pass``, stopped at the end, Ctrl-C, SIGTERM and SIGHUP included), and
``quiet``, with no busy process of ours: the machine is only as quiet as what else
runs on it, so the load averages are printed beside the counts.  TLS is off
(``--ssl-mode disabled``) unless told otherwise: with PyMySQL, each new connection's
SSL context is a cost of its own, and the pool's connects would weigh more in some
repetitions than in others.

Targets: at most 1 false alarm in 20 A/A trials on the loaded machine, and pre-ping
caught in at least 19 of 20.  The table gives the counts, the spread of the A/A changes
(median and largest |change| of the mean) and the smallest A/B change; they tell which
of the noise, the per-repetition iterations or the limit a missed target comes from.

    python benchmarks/gate.py                                  # 20 trials of each
    python benchmarks/gate.py --recipe saved --condition loaded --trials 5
    python benchmarks/gate.py --iterations 500 --host db.example.com --user bench
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbbench import diffing
from dbbench.results.model import load_result

RECIPES = ("saved", "duet")
CONDITIONS = ("loaded", "quiet")
#: exit statuses of dbbench: a pass, and a threshold tripped
PASS, ALARM = 0, 4
KINDS = ("A/A", "A/B")
#: each trial's own settings files: base, and the regression (or base's twin, for A/A)
FILES = {
    "base.toml": "[pool]\npool_pre_ping = false\n",
    "same.toml": "[pool]\npool_pre_ping = false\n",
    "new.toml": "[pool]\npool_pre_ping = true\n",
}


@dataclass
class Tally:
    """One recipe, condition and kind of trial: what the gate said each time."""

    alarms: int = 0
    passes: int = 0
    errors: int = 0
    #: the mean's change in each trial, from the files (None where it could not be read)
    changes: list[float] = field(default_factory=list)
    #: the in-process gate disagreed with the command's exit status
    disagreements: int = 0

    @property
    def trials(self) -> int:
        return self.alarms + self.passes

    def spread(self) -> str:
        """median |change| / largest |change|, or the smallest change: by kind."""
        if not self.changes:
            return "-"
        sizes = [abs(c) for c in self.changes]
        return f"{statistics.median(sizes):.1%} / {max(sizes):.1%}"

    def smallest(self) -> str:
        return f"{min(self.changes):+.1%}" if self.changes else "-"


@dataclass
class Block:
    """One condition's trials, and the machine's load over them."""

    condition: str
    tallies: dict[tuple[str, str], Tally]
    loads: list[float] = field(default_factory=list)
    seconds: float = 0.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="of each kind [20]")
    parser.add_argument(
        "--iterations", type=int, default=100, help="operations per repetition [100]"
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions a side [5]")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="workers [1]; with more, a pool spreads over several connections, each served "
        "by its own server thread",
    )
    parser.add_argument("--fail-on", default="mean:10%", help="the gate [mean:10%%]")
    parser.add_argument("--runner", default="pool", help="the runner gated [pool]")
    parser.add_argument(
        "--recipe", default=",".join(RECIPES), help=f"of {', '.join(RECIPES)} [both]"
    )
    parser.add_argument(
        "--condition", default=",".join(CONDITIONS), help=f"of {', '.join(CONDITIONS)} [both]"
    )
    parser.add_argument("--ssl-mode", default="disabled", help="[disabled]")
    for name in ("host", "port", "user", "database"):
        parser.add_argument(f"--{name}", help="as dbbench takes it [its settings]")
    parser.add_argument("--keep", type=Path, help="keep the files here [a temporary folder]")
    args = parser.parse_args(argv)
    args.recipes = _names(parser, "--recipe", args.recipe, RECIPES)
    args.conditions = _names(parser, "--condition", args.condition, CONDITIONS)
    diffing.parse_fail_on(args.fail_on)  # a bad one: dbbench's own message
    return args


def _names(
    parser: argparse.ArgumentParser, flag: str, text: str, known: Sequence[str]
) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in known:
            parser.error(f"{flag}: {name!r} is not one of {', '.join(known)}")
    return names


class Commands:
    """The dbbench command lines of both recipes, with this script's settings."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.folder = folder
        self.fail_on = args.fail_on
        connection = [
            item
            for name in ("host", "port", "user", "database")
            if getattr(args, name) is not None
            for item in (f"--{name}", getattr(args, name))
        ]
        self.common = [
            "--runner",
            args.runner,
            "--repeat",
            str(args.repeat),
            "-n",
            str(args.iterations),
            "--concurrency",
            str(args.concurrency),
            "--ssl-mode",
            args.ssl_mode,
            *connection,
            "-q",
        ]

    def saved(self, new: str) -> list[list[str]]:
        return [
            ["run", "--config", "base.toml", *self.common, "-o", "A.json"],
            ["run", "--config", new, *self.common, "-o", "B.json"],
            ["diff", "A.json", "B.json", "--fail-on", self.fail_on],
        ]

    def duet(self, new: str) -> list[list[str]]:
        variants = ["--variant", "base=base.toml", "--variant", f"new={new}"]
        gate = ["--fail-on", self.fail_on, "-o", "duet.json"]
        return [["compare", *variants, *self.common, *gate]]

    def shown(self, recipe: str) -> list[str]:
        """The command lines of ``recipe``, as a person would type them (B: new.toml, or
        same.toml for A/A)."""
        return ["dbbench " + " ".join(command) for command in getattr(self, recipe)("new.toml")]


def dbbench(arguments: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbbench", *arguments],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def mean_change(recipe: str, folder: Path, thresholds: list) -> tuple[float | None, bool | None]:
    """The mean's change, and whether the gate fails, from the trial's files (``diffing``
    in this process), to tell the noise from the limit when a target is missed."""
    try:
        if recipe == "saved":
            base, new = load_result(folder / "A.json"), load_result(folder / "B.json")
            paired = False
        else:
            duet = load_result(folder / "duet.json")
            base, new = duet.variant_view("base"), duet.variant_view("new")
            paired = True
        result = diffing.compare(base, new, thresholds, paired=paired)
    except Exception as exc:  # noqa: BLE001 - a figure for the table, not the verdict
        print(f"  (could not read the trial's files: {exc})", file=sys.stderr)
        return None, None
    (mean,) = [c for d in result.diffs for c in d.changes if c.metric == "mean"]
    return mean.change, result.verdict.failed


def trial(recipe: str, kind: str, commands: Commands, tally: Tally, thresholds: list) -> str:
    """One trial: its commands in turn; the last one's exit status is the verdict."""
    new = "new.toml" if kind == "A/B" else "same.toml"
    folder = commands.folder
    for name in ("A.json", "B.json", "duet.json"):
        (folder / name).unlink(missing_ok=True)
    steps = getattr(commands, recipe)(new)
    for step in steps:
        done = dbbench(step, folder)
        if done.returncode not in (PASS, ALARM) or (step is not steps[-1] and done.returncode):
            tally.errors += 1
            lines = (done.stderr or done.stdout).strip().splitlines()
            return f"error (exit {done.returncode}): {lines[-1] if lines else ''}"
    alarmed = done.returncode == ALARM
    if alarmed:
        tally.alarms += 1
    else:
        tally.passes += 1
    change, failed = mean_change(recipe, folder, thresholds)
    if change is not None:
        tally.changes.append(change)
    if failed is not None and failed != alarmed:
        tally.disagreements += 1
    shown = "-" if change is None else f"{change:+.1%}"
    return f"{'ALARM' if alarmed else 'pass'}, mean {shown}"


@contextlib.contextmanager
def busy_core(on: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """One core kept busy by a process of ours while the block runs (``on``); stopped at
    the end, whatever ends it."""
    if not on:
        yield None
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def run_block(
    condition: str, args: argparse.Namespace, commands: Commands, thresholds: list
) -> Block:
    block = Block(condition, {(r, k): Tally() for r in args.recipes for k in KINDS})
    started = time.monotonic()
    with busy_core(condition == "loaded"):
        for number in range(1, args.trials + 1):
            for recipe in args.recipes:
                for kind in KINDS:
                    block.loads.append(os.getloadavg()[0])
                    said = trial(recipe, kind, commands, block.tallies[(recipe, kind)], thresholds)
                    print(
                        f"{condition} {recipe} {kind} {number}/{args.trials}: {said}",
                        file=sys.stderr,
                        flush=True,
                    )
    block.loads.append(os.getloadavg()[0])
    block.seconds = time.monotonic() - started
    return block


def table(blocks: Sequence[Block], args: argparse.Namespace) -> list[str]:
    header = (
        "recipe",
        "condition",
        "A/A false alarms",
        "A/B detections",
        "errors",
        "A/A |mean change| median / max",
        "A/B smallest mean change",
        "load avg 1 min (min-max)",
        "condition's minutes",
    )
    rows = []
    for block in blocks:
        for recipe in args.recipes:
            same, regressed = block.tallies[(recipe, "A/A")], block.tallies[(recipe, "A/B")]
            rows.append(
                (
                    recipe,
                    block.condition,
                    f"{same.alarms}/{same.trials}",
                    f"{regressed.alarms}/{regressed.trials}",
                    str(same.errors + regressed.errors),
                    same.spread(),
                    regressed.smallest(),
                    f"{min(block.loads):.2f}-{max(block.loads):.2f}",
                    f"{block.seconds / 60:.1f}",
                )
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *rows]
    ]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def verdicts(blocks: Sequence[Block], args: argparse.Namespace) -> list[str]:
    """The targets, on the loaded machine: at most 1 false alarm in 20, 19 of 20 caught
    (scaled to the trials run), and any disagreement of the files with the exit status."""
    lines = []
    allowed = args.trials // 20
    needed = args.trials - args.trials // 20
    for block in blocks:
        for recipe in args.recipes:
            same, regressed = block.tallies[(recipe, "A/A")], block.tallies[(recipe, "A/B")]
            where = f"{recipe}, {block.condition}"
            verdict = "no target: the machine is only as quiet as its other jobs"
            if block.condition == "loaded":
                met = "met" if same.alarms <= allowed else "MISSED"
                verdict = f"target at most {allowed}: {met}"
            lines.append(f"{where}: false alarms {same.alarms} of {same.trials} ({verdict})")
            met = "met" if regressed.alarms >= needed else "MISSED"
            lines.append(
                f"{where}: pre-ping caught {regressed.alarms} of {regressed.trials} "
                f"(target at least {needed}: {met})"
            )
            wrong = same.disagreements + regressed.disagreements
            if wrong:
                lines.append(f"{where}: the files' gate disagreed with the exit status {wrong}x")
    return lines


def duet_available() -> bool:
    """``--fail-on`` on compare (the gate of a run's variants) is in this dbbench."""
    shown = subprocess.run(
        [sys.executable, "-m", "dbbench", "compare", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    return "--fail-on" in shown.stdout


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM and SIGHUP as Ctrl-C: the busy process is stopped


def main(argv: Sequence[str] | None = None) -> int:
    # by default SIGTERM ends Python without running a finally: the busy loop of the
    # loaded condition then outlived the script, and loaded the machine for good
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    args = parse_args(argv)
    if "duet" in args.recipes and not duet_available():
        print(
            "gate: this dbbench's compare has no --fail-on: the duet recipe is left out",
            file=sys.stderr,
        )
        args.recipes = [r for r in args.recipes if r != "duet"]
    if not args.recipes:
        return 2
    thresholds = [diffing.parse_fail_on(args.fail_on)]
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            folder = args.keep
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dbbench-gate-")))
        for name, text in FILES.items():
            (folder / name).write_text(text)
        commands = Commands(args, folder)
        blocks = []
        try:
            for condition in args.conditions:
                blocks.append(run_block(condition, args, commands, thresholds))
        except KeyboardInterrupt:
            print("gate: interrupted: the blocks finished are below", file=sys.stderr)
    minutes = (time.monotonic() - started) / 60
    print(
        f"gate calibration: {args.trials} trials of each kind, {args.fail_on}, "
        f"{args.repeat} repetitions of {args.iterations} operations a side, "
        f"runner {args.runner}, concurrency {args.concurrency}, ssl_mode {args.ssl_mode}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        "A/A: both sides pool_pre_ping off; A/B: pool_pre_ping on in B (one more round "
        "trip per checkout); loaded: one core kept busy by a process of this script"
    )
    print()
    print("\n".join(table(blocks, args)))
    print()
    print("\n".join(verdicts(blocks, args)))
    print()
    print("command lines (B's settings file: new.toml, or same.toml, base's twin, for A/A):")
    for recipe in args.recipes:
        print(f"  {recipe}:")
        for line in commands.shown(recipe):
            print(f"    {line}")
    print(f"  base.toml: {FILES['base.toml'].strip()!r}; new.toml: {FILES['new.toml'].strip()!r}")
    print(f"time taken: {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
