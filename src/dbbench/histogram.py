"""Latency histograms: fixed memory, mergeable across threads and processes.

An HdrHistogram (the ``hdrhistogram`` package, the Python port of Gil Tene's
HdrHistogram, the structure wrk2, Cassandra and HdrHistogram-based tools use)
holds the distribution with 3 significant digits: any latency from 1 ns to
one hour is kept to within 0.1%, values below 2,048 ns exactly, in about
280 KB whatever the number of operations.  Beside it we keep the exact count,
sum, sum of squares, minimum and maximum, so mean, standard deviation, min and
max are exact; only percentiles come from the buckets.

Percentiles and ``buckets()`` read a table of the non-empty buckets (their
values and cumulative counts) built once from the counts array and kept until
the histogram changes: a rank is then a bisection, not a walk of hdrh's
Python iterator over all 33,792 buckets (``dbbench diff`` asks for dozens of
ranks per runner).

A histogram read back (``from_dict``, a result file's) is decoded only once it is known
to be one of these settings and no larger (``decode``): hdrh inflates whatever it is
given and sizes its counts by the encoding's own header.  ``inconsistency`` says what,
in a histogram's document, no histogram recorded here could hold.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import functools
import math
import struct
import sys
import zlib
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from itertools import accumulate, compress, pairwise
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_NS = 1
#: longer values are recorded as this (an hour-long operation is its own finding)
HIGHEST_NS = 3_600_000_000_000
SIGNIFICANT_DIGITS = 3


#: hdrh's layout for these settings, read once (``record`` finds the bucket itself):
#: values below ``_SUB_BUCKET_MASK + 1`` are exact, each power of two above is a bucket
#: of ``_HALF_COUNT`` sub-buckets
_LAYOUT = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
if _LAYOUT.unit_magnitude != 0:  # pragma: no cover -- LOWEST_NS is 1
    raise AssertionError("record() assumes a lowest value of 1 ns (unit magnitude 0)")
_SUB_BUCKET_MASK = _LAYOUT.sub_bucket_mask
_HALF_MAGNITUDE = _LAYOUT.sub_bucket_half_count_magnitude
_HALF_COUNT = _LAYOUT.sub_bucket_half_count
_BUCKET_SHIFT = _HALF_MAGNITUDE + 1
del _LAYOUT


class LatencyHistogram:
    __slots__ = ("_hdr", "_table", "count", "max_ns", "min_ns", "sum_ns", "sum_sq_ns")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
        #: (values, cumulative counts) of the non-empty buckets; None until asked
        #: for, and again whenever the histogram changes (see ``_bucket_table``)
        self._table: tuple[list[int], list[int]] | None = None
        self.count = 0
        self.sum_ns = 0
        #: a Python int: exact, so the standard deviation suffers no cancellation
        self.sum_sq_ns = 0
        self.min_ns: int | None = None
        self.max_ns: int | None = None

    def record(self, value_ns: int) -> None:
        """Count one value (clamped to 1 ns .. ``HIGHEST_NS``).

        The bucket is found here, not by hdrh's ``record_value`` (the same index
        by five Python calls, ``_counts_index_for`` and its helpers; the test holds
        the two to the same index): a script records every statement inside its
        operation's timing, and this is a third of the cost."""
        value_ns = int(value_ns)
        if value_ns < LOWEST_NS:
            value_ns = LOWEST_NS
        elif value_ns > HIGHEST_NS:
            value_ns = HIGHEST_NS
        hdr = self._hdr
        bucket = (value_ns | _SUB_BUCKET_MASK).bit_length() - _BUCKET_SHIFT
        hdr.counts[((bucket + 1) << _HALF_MAGNITUDE) + (value_ns >> bucket) - _HALF_COUNT] += 1
        hdr.total_count += 1
        self._table = None
        self.count += 1
        self.sum_ns += value_ns
        self.sum_sq_ns += value_ns * value_ns
        if value_ns < hdr.min_value:
            hdr.min_value = value_ns
        if value_ns > hdr.max_value:
            hdr.max_value = value_ns
        if self.min_ns is None or value_ns < self.min_ns:
            self.min_ns = value_ns
        if self.max_ns is None or value_ns > self.max_ns:
            self.max_ns = value_ns

    def reset(self) -> None:
        """Empty the histogram in place, keeping its memory.

        The harness reuses one histogram per worker for every turn: a new
        HdrHistogram per turn would be garbage that only the cyclic collector
        frees (HdrHistogram and its encoder refer to each other), and memory
        would grow with the length of the run.
        """
        hdr = self._hdr
        if isinstance(hdr.counts, ctypes.Array):
            ctypes.memset(ctypes.addressof(hdr.counts), 0, ctypes.sizeof(hdr.counts))
            hdr.total_count = 0
            hdr.min_value = sys.maxsize
            hdr.max_value = 0
        else:  # another hdrh layout: its own, slower, reset
            hdr.reset()
        self._table = None
        self.count = 0
        self.sum_ns = 0
        self.sum_sq_ns = 0
        self.min_ns = None
        self.max_ns = None

    def merge(self, other: LatencyHistogram) -> None:
        """Add ``other``'s values to this histogram, exactly."""
        if not other.count:
            return
        self._hdr.add(other._hdr)
        self._table = None
        self.count += other.count
        self.sum_ns += other.sum_ns
        self.sum_sq_ns += other.sum_sq_ns
        self.min_ns = other.min_ns if self.min_ns is None else min(self.min_ns, other.min_ns)
        self.max_ns = other.max_ns if self.max_ns is None else max(self.max_ns, other.max_ns)

    @property
    def mean_ns(self) -> float:
        return self.sum_ns / self.count if self.count else math.nan

    @property
    def stddev_ns(self) -> float:
        """Sample standard deviation (n - 1), from exact integer sums."""
        n = self.count
        if n < 2:
            return 0.0
        return math.sqrt((n * self.sum_sq_ns - self.sum_ns * self.sum_ns) / (n * (n - 1)))

    def buckets(self) -> Iterator[tuple[int, int]]:
        """(value_ns, count) for every non-empty bucket, ascending.

        ``value_ns`` is the highest value the bucket holds, as HdrHistogram
        reports it; below 2,048 ns each bucket holds exactly one value.
        """
        values, cumulative = self._bucket_table()
        return zip(values, (b - a for a, b in pairwise([0, *cumulative])), strict=True)

    def _bucket_table(self) -> tuple[list[int], list[int]]:
        """The non-empty buckets' values and cumulative counts, ascending.

        The same buckets, values and counts as hdrh's recorded iterator gives
        (``tests/unit/test_histogram.py`` checks this on random histograms), read
        from the counts array directly: the iterator calls several Python
        methods for each of the 33,792 buckets, full or empty, on every walk.
        """
        if self._table is None:
            hdr = self._hdr
            counts = hdr.counts[: hdr.counts_len]
            full = list(compress(range(len(counts)), counts))  # the non-empty buckets
            values = [hdr.get_highest_equivalent_value(hdr.get_value_from_index(i)) for i in full]
            self._table = values, list(accumulate(counts[i] for i in full))
        return self._table

    def percentile(self, fraction: float) -> int:
        """The nearest-rank quantile: the smallest recorded value with at least
        ``ceil(fraction * n)`` values at or below it (rank 1 for fraction 0).
        Clamped to the exact minimum and maximum."""
        if not self.count:
            raise ValueError("percentile of an empty histogram")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
        return self.value_at_rank(max(1, math.ceil(fraction * self.count - 1e-9)))

    def value_at_rank(self, rank: int) -> int:
        """The ``rank``-th smallest value (1-based): the first bucket whose cumulative
        count reaches ``rank``, clamped to the exact minimum and maximum."""
        if not 1 <= rank <= self.count:
            raise ValueError(f"rank {rank} outside 1..{self.count}")
        values, cumulative = self._bucket_table()
        index = bisect_left(cumulative, rank)
        # past the last bucket only if the buckets hold fewer values than count says
        value = values[min(index, len(values) - 1)] if values else self.max_ns
        return min(max(value, self.min_ns), self.max_ns)

    # --- serialisation: result files and the pipe from worker processes ------

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "sum_ns": self.sum_ns,
            "sum_sq_ns": str(self.sum_sq_ns),  # may exceed what JSON readers take as a number
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
            # HdrHistogram's own compressed, base64 "HISTF..." form
            "hdr": self._hdr.encode().decode("ascii") if self.count else None,
            "significant_digits": SIGNIFICANT_DIGITS,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyHistogram:
        histogram = cls()
        if data["count"]:
            histogram._hdr.add(decode(data["hdr"]))
        histogram.count = data["count"]
        histogram.sum_ns = data["sum_ns"]
        histogram.sum_sq_ns = int(data["sum_sq_ns"])
        histogram.min_ns = data["min_ns"]
        histogram.max_ns = data["max_ns"]
        return histogram


# --- reading an encoding back ---------------------------------------------------------

#: HdrHistogram's V2 cookies (``hdrh.codec``): of the base64 form's header, and of the
#: compressed payload's; the bits 0xf0 hold the word size
_COMPRESSION_COOKIE = 0x1C849304
_ENCODING_COOKIE = 0x1C849303
_WORD_SIZE_BITS = 0xF0
#: the compressed payload's header: cookie, payload length, normalizing index offset,
#: significant figures, lowest and highest trackable value, conversion ratio
_PAYLOAD_HEADER = struct.Struct(">IIIIQQd")
#: a counter takes at most 9 bytes (LEB128 with ZigZag)
_COUNTER_BYTES = 9


@functools.cache
def _largest_payload() -> int:
    """The most bytes the payload of a histogram of these settings inflates to."""
    counts = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS).counts_len
    return _PAYLOAD_HEADER.size + counts * _COUNTER_BYTES


def decode(text: str) -> HdrHistogram:
    """The histogram of an encoding ``to_dict`` wrote (``"hdr"``); ``ValueError`` saying
    why, for text that is not one of these settings (1 ns to an hour, 3 digits), or is
    larger than one can be, before hdrh inflates or allocates anything."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) < 8:
        raise ValueError("too short to be an HdrHistogram encoding")
    cookie, length = struct.unpack(">II", raw[:8])
    if cookie & ~_WORD_SIZE_BITS != _COMPRESSION_COOKIE or length != len(raw) - 8:
        raise ValueError("not an HdrHistogram encoding (its header does not match)")
    inflater = zlib.decompressobj()
    limit = _largest_payload()
    try:
        payload = inflater.decompress(raw[8:], limit + 1)
    except zlib.error:
        raise ValueError("not an HdrHistogram encoding (its compressed part is damaged)") from None
    if len(payload) > limit:
        raise ValueError(f"inflates to more than a histogram's {limit:,} bytes")
    if not inflater.eof or inflater.unused_data or len(payload) < _PAYLOAD_HEADER.size:
        raise ValueError("not an HdrHistogram encoding (its compressed part is cut short)")
    cookie, _, _, digits, lowest, highest, _ = _PAYLOAD_HEADER.unpack_from(payload)
    if cookie & ~_WORD_SIZE_BITS != _ENCODING_COOKIE:
        raise ValueError("not an HdrHistogram encoding (its payload's header does not match)")
    if (digits, lowest, highest) != (SIGNIFICANT_DIGITS, LOWEST_NS, HIGHEST_NS):
        raise ValueError(
            f"a histogram of {digits} digits from {lowest} to {highest} ns, not dbbench's "
            f"{SIGNIFICANT_DIGITS} digits from {LOWEST_NS} to {HIGHEST_NS} ns"
        )
    try:
        return HdrHistogram.decode(text.encode("ascii"))
    except Exception as exc:  # hdrh's own exceptions: HdrCookieException, HdrLengthException...
        raise ValueError(f"not an HdrHistogram encoding ({type(exc).__name__})") from None


def inconsistency(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """The key of a histogram's document (``to_dict``, its types as the result file schema
    says) whose value no histogram recorded here could have, and why; None when there is
    none.  Its buckets are decoded (``decode``) and must hold ``count`` values; min, max
    and the sums must be what ``count`` values between min and max can give, so that the
    mean, the standard deviation and every percentile read from it exist."""
    count, total, squares = data["count"], data["sum_ns"], int(data["sum_sq_ns"])
    low, high, encoded = data["min_ns"], data["max_ns"], data["hdr"]
    if not count:
        for key, value, empty in (
            ("min_ns", low, None),
            ("max_ns", high, None),
            ("sum_ns", total, 0),
            ("sum_sq_ns", squares, 0),
        ):
            if value != empty:
                return key, f"{value} in a histogram of no values (count 0)"
        return None
    for key, value in (("min_ns", low), ("max_ns", high), ("hdr", encoded)):
        if value is None:
            return key, f"null in a histogram of {count} values"
    if low > high:
        return "min_ns", f"{low} is more than max_ns ({high})"
    if not count * low <= total <= count * high:
        return "sum_ns", f"{total} is not what {count} values from {low} to {high} ns add up to"
    if not (low * total <= squares <= high * total and count * squares >= total * total):
        return "sum_sq_ns", (
            f"{squares} is not the sum of squares of {count} values adding up to {total}"
        )
    try:
        held = decode(encoded).get_total_count()
    except ValueError as exc:
        return "hdr", str(exc)
    if held != count:
        return "hdr", f"its buckets hold {held} values, but count is {count}"
    return None
