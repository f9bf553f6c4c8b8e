"""When a runner's operations failed: the error timeline of a run.

Counting errors by kind says *what* went wrong; a fault in the middle of a run
(a server restart, killed connections, ``max_connections`` reached) also needs
*when*, and whether the runner recovered.  For each runner the harness keeps:

- per kind: the count and the times of the first and last error;
- per second of the run and kind: the count (``BUCKET_S`` buckets, so the
  size grows with the run's length and the kinds seen, never with the
  number of operations);
- the time of the first successful operation after the runner's last error
  ("recovered at"), or none when no operation succeeded after it.

Times are seconds since the run started (``RunOutcome.started_at_s``; with
``--processes`` the parent's start, handed to every process).  Only measured
operations count, as for ``errors_by_kind``: warm-up failures are counted apart.

Workers of one process share one timeline per runner.  Errors take a lock
(they are rare, and the clock read is outside the timed operation); a success
costs one attribute read unless a recovery is being waited for.  With several
processes the timelines are merged: counts and first/last are exact, the
recovery is the first one recorded after the overall last error (a process
whose own recovery came before that error may have succeeded earlier; that
is not known).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dbbench import databases
from dbbench.results.model import TimelineSummary

#: width of the timeline's buckets, seconds
BUCKET_S = 1.0


def describe_kind(kind: str, dialect: str | None = None) -> str:
    """An error kind with a few words on its code: "OperationalError(2013) lost connection",
    "OperationalError(57P01) connection killed (...)", in the words of the dialect's plug-in
    (``Database.error_codes``); None is MySQL, as in a file written before dbbench knew
    PostgreSQL, and a dialect dbbench does not know describes no code."""
    if kind == "TimeoutError":
        return "TimeoutError pool checkout timed out"
    if kind.endswith(", timed out)"):
        return f"{kind}: no answer within read_timeout/write_timeout"
    start = kind.find("(")
    if start > 0 and kind.endswith(")"):
        code = kind[start + 1 : -1]
        dialect = dialect or "mysql"
        words = (
            databases.get_database(dialect).error_codes.get(code)
            if dialect in databases.DIALECTS
            else None
        )
        if words:
            return f"{kind} {words}"
    return kind


@dataclass
class KindSpan:
    """How many errors of one kind, and when the first and last happened."""

    count: int
    first_s: float
    last_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first_s": _round_s(self.first_s),
            "last_s": _round_s(self.last_s),
        }


@dataclass
class ErrorTimeline:
    """One runner's errors over time (see the module docstring)."""

    #: wall-clock time (``time.time()``) the times count from
    origin_s: float = 0.0
    kinds: dict[str, KindSpan] = field(default_factory=dict)
    #: (bucket index, kind) -> errors; bucket i covers [i, i + 1) × BUCKET_S
    buckets: Counter[tuple[int, str]] = field(default_factory=Counter)
    #: first success after the latest error; None when none came (yet)
    recovered_s: float | None = None
    #: an error happened and no success since: the next success is the recovery
    awaiting_recovery: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _now_s(self) -> float:
        return time.time() - self.origin_s

    def error(self, kind: str) -> None:
        now = self._now_s()
        with self._lock:
            span = self.kinds.get(kind)
            if span is None:
                self.kinds[kind] = KindSpan(1, now, now)
            else:
                span.count += 1
                span.last_s = max(span.last_s, now)
            self.buckets[(int(now // BUCKET_S), kind)] += 1
            self.recovered_s = None
            self.awaiting_recovery = True

    def success(self) -> None:
        """Call after a successful operation when ``awaiting_recovery`` (cheap otherwise)."""
        now = self._now_s()
        with self._lock:
            if self.awaiting_recovery:
                self.awaiting_recovery = False
                self.recovered_s = now

    @property
    def errors(self) -> int:
        return sum(span.count for span in self.kinds.values())

    @property
    def last_error_s(self) -> float | None:
        return max((span.last_s for span in self.kinds.values()), default=None)

    def merge(self, other: ErrorTimeline) -> None:
        """Add another process's timeline of the same runner."""
        for kind, span in other.kinds.items():
            mine = self.kinds.get(kind)
            if mine is None:
                self.kinds[kind] = KindSpan(span.count, span.first_s, span.last_s)
            else:
                mine.count += span.count
                mine.first_s = min(mine.first_s, span.first_s)
                mine.last_s = max(mine.last_s, span.last_s)
        self.buckets.update(other.buckets)
        last = self.last_error_s
        candidates = [
            t for t in (self.recovered_s, other.recovered_s) if t is not None and t >= (last or 0)
        ]
        self.recovered_s = min(candidates) if candidates else None

    def shifted(self, offset_s: float) -> ErrorTimeline:
        """This timeline counted from ``offset_s`` seconds earlier (a later repetition's, as
        the first repetition's start counts it)."""
        timeline = ErrorTimeline(origin_s=self.origin_s - offset_s)
        for kind, span in self.kinds.items():
            timeline.kinds[kind] = KindSpan(
                span.count, span.first_s + offset_s, span.last_s + offset_s
            )
        for (index, kind), count in self.buckets.items():
            timeline.buckets[(int((index * BUCKET_S + offset_s) // BUCKET_S), kind)] += count
        if self.recovered_s is not None:
            timeline.recovered_s = self.recovered_s + offset_s
        return timeline

    def to_dict(self) -> dict[str, Any] | None:
        """The result file's ``error_timeline``; None when nothing failed."""
        if not self.kinds:
            return None
        return {
            "bucket_s": BUCKET_S,
            "kinds": {kind: span.to_dict() for kind, span in sorted(self.kinds.items())},
            "buckets": [
                [index * BUCKET_S, kind, count]
                for (index, kind), count in sorted(self.buckets.items())
            ],
            "last_error_s": _round_s(self.last_error_s),
            "recovered_s": _round_s(self.recovered_s),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ErrorTimeline:
        timeline = cls()
        if not data:
            return timeline
        for kind, span in data["kinds"].items():
            timeline.kinds[kind] = KindSpan(span["count"], span["first_s"], span["last_s"])
        width = data.get("bucket_s", BUCKET_S)
        for start_s, kind, count in data["buckets"]:
            timeline.buckets[(round(start_s / width), kind)] += count
        timeline.recovered_s = data.get("recovered_s")
        return timeline


def _round_s(value_s: float | None) -> float | None:
    """Seconds kept to the millisecond in files: finer would be noise."""
    return None if value_s is None else round(value_s, 3)


def _bursts(
    buckets: Sequence[Sequence[Any]], kind: str, width_s: float
) -> list[tuple[float, float, int]]:
    """Consecutive buckets with errors of ``kind``: (start s, end s, errors) each."""
    bursts: list[tuple[float, float, int]] = []
    for start_s, _kind, count in sorted(b for b in buckets if b[1] == kind):
        if bursts and abs(bursts[-1][1] - start_s) < width_s / 2:
            first, _, total = bursts[-1]
            bursts[-1] = (first, start_s + width_s, total + count)
        else:
            bursts.append((start_s, start_s + width_s, count))
    return bursts


def describe(
    runner: str, timeline: TimelineSummary | None, dialect: str | None = None
) -> list[str]:
    """Plain lines for a runner's error timeline, its codes in ``dialect``'s words
    (``describe_kind``), e.g.::

        pool: 12 × OperationalError(2013) lost connection, 3.1–3.4 s into the run
        pool: recovered: first success 3.6 s into the run, 0.2 s after the last error

    A kind whose errors came in separate bursts (seconds apart) lists them.
    """
    if not timeline or not timeline.kinds:
        return []
    width = timeline.bucket_s
    lines = []
    for kind, span in timeline.kinds.items():
        line = (
            f"{runner}: {span.count:,} × {describe_kind(kind, dialect)}, "
            f"{_span_text(span.first_s, span.last_s)} into the run"
        )
        bursts = _bursts(timeline.buckets, kind, width)
        if len(bursts) > 1:
            shown = ", ".join(f"{a:g}–{b:g} s: {n:,}" for a, b, n in bursts[:6])
            line += f" (in {len(bursts)} bursts: {shown}{', ...' if len(bursts) > 6 else ''})"
        lines.append(line)
    recovered, last = timeline.recovered_s, timeline.last_error_s
    if recovered is not None:
        lines.append(
            f"{runner}: recovered: first success {recovered:.1f} s into the run, "
            f"{max(0.0, recovered - last):.1f} s after the last error"
        )
    else:
        lines.append(
            f"{runner}: no operation succeeded after the last error ({last:.1f} s into the run)"
        )
    return lines


def _span_text(first_s: float, last_s: float) -> str:
    if round(first_s, 1) == round(last_s, 1):
        return f"{first_s:.1f} s"
    return f"{first_s:.1f}–{last_s:.1f} s"
