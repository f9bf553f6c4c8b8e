"""Wall-clock timing shared by the benchmark scripts that time whole ``dbbench`` commands.

Child processes run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed
from their environment) and once untimed first, so that they import from
``__pycache__`` as an installed dbbench does: otherwise every start-up would
compile dbbench's own sources again, and that is not what a user waits for.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Wall-clock seconds of each of ``repeat`` calls of ``action``."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Command:
    """A command to time; ``cpu_s`` collects each run's CPU time (user + system), which a
    loaded machine stretches less than wall-clock time."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self.env = child_env()
        self.cpu_s: list[float] = []
        first = subprocess.run(self.command, capture_output=True, text=True, env=self.env)
        if first.returncode != 0:
            words = " ".join(self.command)
            raise SystemExit(f"{words} exited {first.returncode}: {first.stderr.strip()}")

    def __call__(self) -> None:
        """Run it once, output discarded."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(self.command, stdout=subprocess.DEVNULL, env=self.env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def describe(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s, "
        f"max {max(seconds):.3f} s ({len(seconds)} runs)"
    )
