"""The report's page: reads the result files, writes one self-contained HTML file
(header, a section per file, the style sheet inline, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from dbbench import safeio
from dbbench.errors import ConfigError
from dbbench.output.report.charts import Charts, require_matplotlib
from dbbench.output.report.sections import document_section, fallback_notice, kind_of
from dbbench.output.report.tables import Column, Html, column_table, escape, when
from dbbench.results import store as resultfile
from dbbench.results.model import DiffResult, Result, RunResult, RunsListing, load_result


def build_report(documents: list[tuple[str, Result]]) -> str:
    """The HTML page for ``documents``: (label, typed result: ``model.load_result``) pairs."""
    if not documents:
        raise ValueError("build_report needs at least one document")
    charts = Charts(require_matplotlib())
    body = ["<header>", "<h1>dbbench report</h1>", _files_table(documents), "</header>"]
    runs = [(label, doc) for label, doc in documents if isinstance(doc, RunResult)]
    if len(runs) > 1:
        body += [
            '<section id="all-runs">',
            "<h2>All runs: latency distributions</h2>",
            "<p>Colour: the runner; line style: the file.</p>",
            charts.cdf(runs, overlay=True),
            fallback_notice(runs),
            "</section>",
        ]
    for index, (label, doc) in enumerate(documents, start=1):
        body.append(document_section(index, label, doc, charts))
    body.append(
        f"<footer>made by dbbench {escape(_own_version())}; this page fetches nothing</footer>"
    )
    title = "dbbench report: " + ", ".join(label for label, _ in documents)
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # the browser refuses any fetch, should a later change ever add one
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title>",
        f"<style>\n{CSS}\n</style>",
    ]
    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>"]
    return "\n".join([*page, *(part for part in body if part), "</body>", "</html>", ""])


def write_report(paths: list[Path], output: Path | str, label: str | None = None) -> None:
    """Read the result files at ``paths`` and write their report to ``output``, atomically
    (``safeio.write_text``: a regular file or none, in a directory that exists; ``label``
    names the flag that gave it, for the message when it is not)."""
    require_matplotlib()  # before reading anything: one line, not a traceback later
    if not paths:
        raise ConfigError("no result files given; name one or more, e.g. dbbench report run.json")
    try:  # as given, before reading: a bad output is the one line ('' is no file, not '.'),
        # and so is a result file to read, by any name (a hard link too)
        safeio.check_target(output, label, inputs=paths)
    except safeio.FileProblem as exc:
        raise ConfigError(str(exc)) from None
    output = Path(output)
    seen: dict[Path, Path] = {}  # each file, resolved -> as first given
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in seen:
            also = "" if seen[resolved] == Path(path) else f" (as {seen[resolved]} too)"
            raise ConfigError(f"{path} is given twice{also}: name each result file once")
        seen[resolved] = Path(path)
    labels = _labels(paths)
    documents = [(label, load_result(path)) for label, path in zip(labels, paths, strict=True)]
    for (_, result), path in zip(documents, paths, strict=True):
        if isinstance(result, RunsListing):
            raise ConfigError(f"{path}: a list of saved runs, not a result: name the runs instead")
    resultfile.write_text_atomic(output, build_report(documents), "the report", label)


def _labels(paths: Sequence[Path]) -> list[str]:
    """File names, or the paths as given where two files share a name."""
    names = [Path(path).name for path in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def _own_version() -> str:
    try:
        return metadata.version("dbbench")
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def _files_table(documents: Sequence[tuple[str, Result]]) -> str:
    def schema(doc: Result) -> str:
        text = str(doc.schema_version)
        upgraded = doc.upgraded_from
        return text if upgraded is None else f"{text} (upgraded from {upgraded})"

    def complete(doc: Result) -> str:
        return "yes" if doc.complete else "no (interrupted)"

    items = list(enumerate(documents, start=1))
    columns: list[Column] = [
        ("file", lambda item: Html(f'<a href="#file-{item[0]}">{escape(item[1][0])}</a>')),
        ("kind", lambda item: kind_of(item[1][1])),
        ("started (UTC)", lambda item: when(item[1][1].started_at)),
        ("finished (UTC)", lambda item: when(item[1][1].finished_at)),
        ("dbbench", lambda item: _written_by(item[1][1]) or "not recorded"),
        ("schema", lambda item: schema(item[1][1])),
        ("complete", lambda item: complete(item[1][1])),
    ]
    return column_table(columns, items, text=[name for name, _ in columns])


def _written_by(doc: Result) -> str | None:
    """The dbbench version that wrote ``doc``; a diff document records none."""
    return None if isinstance(doc, DiffResult) else doc.environment.dbbench


CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1d1d1f; background: #fff; max-width: 1150px; margin: 1.5em auto;
       padding: 0 1.2em; line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.7em; margin-bottom: .3em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #e5e5e5; padding-bottom: .2em; margin-top: 2.2em; }
h3 { font-size: 1.05em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: 13px;
        font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 12px; padding-top: .3em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: left;
         vertical-align: top; }
th { border-bottom: 1px solid #bbb; font-weight: 600; }
.wide { max-width: 100%; overflow-x: auto; }
.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 12px; }
.notice { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em .8em; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
footer { margin-top: 3em; color: #888; font-size: 12px; }
a { color: #0b57d0; }
""".strip()
