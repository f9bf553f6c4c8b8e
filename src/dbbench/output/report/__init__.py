"""The HTML report: one self-contained page of charts and tables from result files.

``dbbench report FILE... -o report.html`` reads result files into the result
model (run, compare, sweep, stale, explain, diff; older schema versions upgraded by
``model.load_result``) and writes one page that opens anywhere with no network: the charts are SVG
drawn by matplotlib and inlined, the style sheet is inline, and there is no
script and no reference to anything outside the file (a Content-Security-Policy
of ``default-src 'none'`` says so to the browser too).

- run/compare: each runner's latency CDF, from the stored HdrHistograms (files
  without them, upgraded from schema 1, fall back to the stored percentiles,
  and the page says so); the runners' statistics, what the pool did, what the
  server saw; settings and environment.
- sweep: throughput and p99 against concurrency (one line per pool setting)
  and against pool size (one line per concurrency and max_overflow); the grid,
  the recommendations, each cell's pool and server counters.
- stale: the cases.
- explain: a phase table per runner (median, p95, share, round trips), the findings.
- diff: a table per runner (or sweep cell) compared, the caveats and the gate's verdict.
- more than one run document: one more CDF with all of them overlaid.

matplotlib is an optional dependency (``pip install 'dbbench[report]'``). It
is used without pyplot (no global figure registry, no backend switch), its
settings are changed only inside ``rc_context``, and its SVG ids come from a
fixed salt, so the same files give the same page, byte for byte. Chart text is
drawn as paths from the DejaVu Sans that matplotlib ships: the charts look the
same in every browser, whatever fonts it has.
"""

from __future__ import annotations

from dbbench.output.report.page import build_report, write_report

# page.py: the page and its CSS; sections.py: a section per file; charts.py: matplotlib SVG;
# tables.py: HTML tables and the text of their cells

__all__ = ["build_report", "write_report"]
