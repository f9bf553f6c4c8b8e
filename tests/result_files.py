"""Result documents of every kind dbbench writes, valid, for the tests of reading files.

``written_documents`` runs the CLI against fake runners (no server) for the documents it
writes today (a run, one repeated with errors and a target rate, a sweep, a run of two
variants, a diff, the saved runs' listing, a calibration) and reads the test data files
(older versions, upgraded as they are read: stale's and explain's among them).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from dbbench.cli import Env, cli
from dbbench.results.model import read_document
from tests.fakes import FakeClock, FakeRunner, fake_backend

DATA = Path(__file__).parent / "data"
DATA_FILES = sorted([*DATA.glob("*.json"), *(DATA / "results").glob("*.json")])
#: each runner's fake cost per operation
COSTS_NS = {"raw": 2_000_000, "pool": 50_000, "persistent": 20_000, "nullpool": 1_500_000}
#: no server named by the environment the tests run in
NO_SERVER = {name: None for name in os.environ if name.startswith(("DBBENCH_", "MYSQL_"))}


def fake_env() -> Env:
    """The CLI's environment with fake runners: raw fails every other operation when the
    query says "fail"."""
    clock = FakeClock()

    def create(label: str, settings: Any) -> FakeRunner:
        name = label.split("@")[0].split("/")[0]
        fail = None
        if name == "raw" and "fail" in settings.benchmark.query:
            fail = lambda call: None if call % 2 else RuntimeError("boom")  # noqa: E731
        return FakeRunner(label, [], clock, cost_ns=COSTS_NS.get(name, 100_000), fail=fail)

    return Env(backend=fake_backend(create, clock))


def dbbench(*args: str) -> str:
    """The output of ``dbbench ARGS`` against fake runners, in the working directory."""
    result = CliRunner().invoke(cli, list(args), env=NO_SERVER, obj=fake_env())
    assert result.exit_code in (0, 3), f"dbbench {' '.join(args)}: {result.output}"
    return result.stdout


@functools.cache
def _written() -> str:
    with tempfile.TemporaryDirectory(prefix="dbbench-written-") as directory:
        return json.dumps(_write_documents(Path(directory)))


#: the names of ``written_documents``, known without writing them
WRITTEN = ("run", "repeated", "sweep", "variants", "diff", "runs", "calibrate")
NAMES = (*WRITTEN, *(f"{path.parent.name}/{path.name}" for path in DATA_FILES))


def written_documents() -> dict[str, dict[str, Any]]:
    """Each kind of document dbbench writes, by name: written by the CLI against fake
    runners (once per session, in a temporary directory), and the test data files as
    read (upgraded).  A copy of its own for each caller."""
    return json.loads(_written())


def _write_documents(directory: Path) -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    before = Path.cwd()
    os.chdir(directory)  # saved runs go under .dbbench/runs/ of the working directory
    try:
        documents["run"] = json.loads(dbbench("run", "-n", "20", "--save", "plain", "--json"))
        documents["repeated"] = json.loads(
            dbbench(
                *(
                    "run",
                    "-n",
                    "10",
                    "--repeat",
                    "2",
                    "--rate",
                    "100000",
                    "--query",
                    "SELECT 'fail'",
                ),
                *("--runner", "raw,pool,nullpool", "--save", "repeated", "--json"),
            )
        )
        documents["sweep"] = json.loads(
            dbbench("compare", "--pool-size", "1,2", "-c", "2", "-n", "10", "--json")
        )
        Path("base.toml").write_text("[pool]\npool_pre_ping = false\n")
        Path("new.toml").write_text("[pool]\npool_pre_ping = true\npool_size = 2\n")
        documents["variants"] = json.loads(
            dbbench(
                *("run", "-n", "10", "--repeat", "2", "--runner", "pool"),
                *("--variant", "base=base.toml", "--variant", "new=new.toml", "--json"),
            )
        )
        documents["diff"] = json.loads(dbbench("diff", "plain", "repeated", "--format", "json"))
        documents["runs"] = json.loads(dbbench("runs", "--format", "json"))
        documents["calibrate"] = json.loads(
            dbbench(
                *("calibrate", "--runner", "pool", "-n", "10", "--repeat", "2"),
                *("--trials", "2", "--recipe", "duet", "--json"),
            )
        )
    finally:
        os.chdir(before)
    for path in DATA_FILES:
        documents[f"{path.parent.name}/{path.name}"] = read_document(path)
    assert tuple(documents) == NAMES
    return documents


def old_documents() -> dict[str, dict[str, Any]]:
    """The test data files as they are on disk: of older versions, some trimmed by hand."""
    return {f"{path.parent.name}/{path.name}": json.loads(path.read_text()) for path in DATA_FILES}
