"""`dbbench --help`, `--version` and every command's `--help` load none of the heavy packages.

Each is run as `python -m dbbench ...` in one fresh interpreter, in turn, and the modules
it imported are read from `sys.modules` afterwards.  Not timed (benchmarks/startup.py
times start-up): what makes help slow is importing these, and that is what is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys

from dbbench.cli import cli

#: SQLAlchemy and the drivers (about 0.3 s of a 0.4 s start-up before), the charts, the
#: histograms, the terminal renderer, the noise tests' distributions (scipy: 0.3-0.7 s), the
#: result files' validator (jsonschema: 0.15 s): each loads when a command needs it
HEAVY = (
    "sqlalchemy",
    "pymysql",
    "MySQLdb",
    "mysql",
    "aiomysql",
    "greenlet",
    "matplotlib",
    "numpy",
    "scipy",
    "hdrh",
    "rich",
    "jsonschema",
)

#: runs each argument list as `python -m dbbench` does, and prints what each one imported
PROBE = """
import contextlib, io, json, runpy, sys
found, statuses = {}, []
for argv in json.loads(sys.argv[1]):
    sys.argv = ["dbbench", *argv]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module("dbbench", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            statuses.append([argv, exc.code, out.getvalue()[:200]])
    for name in list(sys.modules):
        found.setdefault(name.partition(".")[0], argv)
print(json.dumps({"modules": found, "statuses": statuses}))
"""


def test_help_and_version_import_nothing_heavy():
    invocations = [["--help"], ["--version"], *([name, "--help"] for name in sorted(cli.commands))]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(invocations)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(probe.stdout)
    for argv, status, output in seen["statuses"]:
        assert status == 0, (argv, status, output)
        assert ("version" in output) if argv == ["--version"] else output.startswith("Usage:")
    assert len(seen["statuses"]) == len(invocations) >= 9  # every command was asked
    assert {"click", "dbbench"} <= seen["modules"].keys()  # the probe does see imports
    loaded = {name: seen["modules"][name] for name in HEAVY if name in seen["modules"]}
    assert loaded == {}, f"imported by (the first invocation that did): {loaded}"


def test_drawing_a_result_imports_no_scipy():
    """Every format's module imports ``diffing`` (its ``ALPHA``): scipy waits for a test to run."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dbbench.diffing, dbbench.output.table_format, dbbench.output.markdown;"
            "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'scipy')[:3])",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert probe.stdout.strip() == "[]"
