"""Result files: written atomically as a run goes, kept under .dbbench/runs, read back and upgraded.

Every command's JSON document is one format, versioned by
``schema_version`` and described by ``schema/dbbench-result.schema.json``.
A file is written to a temporary file beside it and renamed over it, so a
reader (or a crash) never sees half a file; a run writes it again after
each turn of its runners or each sweep cell, marked ``"complete": false``
until the end, so Ctrl-C, a kill or a crash keeps what was measured.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbbench import safeio
from dbbench.errors import mention
from dbbench.parsing import bad_value
from dbbench.results.model import (
    ResultFileError,
    RunsListing,
    SavedRunEntry,
    load_result,
    read_document,
    upgrade,
)

RUNS_DIR = Path(".dbbench") / "runs"
#: a saved run's file name; a name with a newline in it (put there by hand) is one too,
#: listed with the rest, not left out unseen (``$`` would also take a trailing newline)
_RUN_FILE = re.compile(r"(\d{4,})(?:-(.+))?\.json", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def write_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``path``: all of it or, on failure, the old file untouched."""
    write_text_atomic(Path(path), json.dumps(document, indent=2) + "\n", "the result file")


def write_text_atomic(path: Path, text: str, what: str, label: str | None = None) -> None:
    """Write ``text`` to ``path`` whole (``safeio.write_text``: only where a regular file is
    or none, in a directory that exists); ``what`` names it, ``label`` the flag that gave it."""
    try:
        safeio.write_text(path, text, what=what, label=label)
    except safeio.FileProblem as exc:
        raise ResultFileError(str(exc)) from None


#: read, check and upgrade a result file into its document (``model.read_document``)
load = read_document


@dataclass(frozen=True)
class SavedRun:
    number: int
    name: str | None
    path: Path


class RunStore:
    """Saved runs: ``.dbbench/runs/0001-NAME.json``, numbered in order."""

    def __init__(self, root: Path | None = None) -> None:
        self.directory = (root or Path.cwd()) / RUNS_DIR

    def runs(self) -> list[SavedRun]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _RUN_FILE.fullmatch(path.name)
            if match:
                found.append(SavedRun(int(match.group(1)), match.group(2), path))
        return sorted(found, key=lambda run: run.number)

    def next_path(self, name: str | None) -> Path:
        if name is not None and not _NAME.match(name):
            raise bad_value(
                mention("run name"),
                name,
                "a run name is letters, digits, '.', '_' and '-' "
                "(at most 64, starting with a letter or digit)",
            )
        if name is not None and (name.isdigit() or name == "latest" or name.endswith(".json")):
            raise bad_value(
                mention("run name"),
                name,
                "a number, 'latest' or a name ending in .json would be read as "
                "something else by dbbench diff and report; choose another name",
            )
        existing = self.runs()
        if name is not None and any(run.name == name for run in existing):
            raise bad_value(mention("run name"), name, "a saved run has that name already")
        number = existing[-1].number + 1 if existing else 1
        for _ in range(1000):  # numbers claimed by runs not yet written are skipped
            path = self.directory / (f"{number:04d}-{name}.json" if name else f"{number:04d}.json")
            if self._claim(number, path):
                return path
            number += 1
        raise ResultFileError(f"{self.directory}: could not claim a number for the saved run")

    def _claim(self, number: int, path: Path) -> bool:
        """Reserve ``number`` for ``path`` (an empty marker made with O_EXCL): runs saved
        at the same moment get different numbers."""
        claims = self.directory.parent / "claims"  # beside runs/, out of its listing
        try:
            # a file where a directory should be is FileExistsError too: no claim, a refusal
            claims.mkdir(parents=True, exist_ok=True)
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                marker = claims / f"{number:04d}"
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                return False
        except OSError as exc:
            # a FileProblem naming the run's file: the command says it as its --save flag
            raise safeio.FileProblem(
                path, f"cannot keep saved runs in {self.directory} ({exc.strerror})"
            ) from None
        return not os.path.lexists(path)  # a dangling link there is something there too

    def resolve(self, reference: str) -> Path:
        """A file path, a saved run's name, its number, or "latest"."""
        path = Path(reference)
        if path.suffix == ".json" or path.exists():
            return path
        runs = self.runs()
        if reference == "latest" and runs:
            return runs[-1].path
        for run in runs:
            # ASCII digits only: "١" is a digit to str.isdigit and int(), not to the user
            number = reference.isascii() and reference.isdigit()
            if run.name == reference or (number and run.number == int(reference)):
                return run.path
        known = ", ".join(run.name or str(run.number) for run in runs[-5:]) or "none saved yet"
        raise ResultFileError(
            f"{reference!r}: no such result file or saved run (saved: {known}; see dbbench runs)"
        )


class ResultSink:
    """The files a command writes its result document to (``--output``, ``--save``), each
    again as the run goes.  A write that fails does not stop the run: the file is tried
    again at the next write, and ``check``, once the results are shown, names each file
    whose last write failed."""

    def __init__(self, paths: list[Path], labels: dict[Path, str] | None = None) -> None:
        self.paths = paths
        #: the flag that named each path (``--output``), for its messages
        self.labels = labels or {}
        self._failed: dict[Path, ResultFileError] = {}
        #: the paths one write of this command has reached (an earlier version stays there)
        self._reached: set[Path] = set()

    def write(self, document: dict[str, Any]) -> None:
        text = json.dumps(document, indent=2) + "\n"
        for path in self.paths:
            try:
                write_text_atomic(path, text, "the result file", self.labels.get(path))
            except ResultFileError as exc:
                self._failed[path] = exc
            else:
                self._failed.pop(path, None)
                self._reached.add(path)

    @property
    def written(self) -> list[Path]:
        """The paths whose last write succeeded."""
        return [path for path in self.paths if path not in self._failed]

    def check(self) -> None:
        """``ResultFileError`` for the first file whose last write failed, saying where the
        results still are: on stdout, where the command printed them, and any other file."""
        if not self._failed:
            return
        path, failure = next(iter(self._failed.items()))
        kept = "".join(f" and in {path}" for path in self.written)
        # an earlier write of the run's reached it (and it is still there: a directory may
        # have vanished): what is there is not what was printed
        earlier = (
            f" ({path} holds an earlier write of this run, not the results: "
            '"complete": false)'
            if path in self._reached and os.path.isfile(path)
            else ""
        )
        raise ResultFileError(f"{failure}{earlier}; the results are on stdout{kept}")


def describe_runs(saved: list[SavedRun]) -> RunsListing:
    """One entry of facts per saved run, for ``dbbench runs`` in any format."""
    entries = []
    for run in saved:
        path = os.path.relpath(run.path)
        try:
            # named as listed: relative to the working directory
            entry = SavedRunEntry.of(run.number, run.name, path, load_result(Path(path)))
        except ResultFileError as exc:
            entry = SavedRunEntry(run.number, run.name, path, error=str(exc))
        entries.append(entry)
    return RunsListing(tuple(entries))


__all__ = [
    "ResultFileError",
    "ResultSink",
    "RunStore",
    "describe_runs",
    "load",
    "upgrade",
    "write_atomic",
]
