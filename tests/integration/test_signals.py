"""Stop signals at many moments of real runs, and what each leaves: a table of cases.

Each case starts the real command line (``python -m dbbench``) in a session of its
own, with a ``TMPDIR`` of its own, waits for a moment of the run -- a delay, the
throwaway server's directory appearing, its line on stderr, the result file showing
the warm-up or the measuring, a sweep's first cell, a repetition, the idle wait of
``stale`` (the server's process list), the measuring done -- and sends one signal or
several in quick succession (20 ms apart), to dbbench alone or to its process group,
as a terminal does.  Then, whatever the moment turned out to be:

- exit status 130, within ``STOP_LIMIT_S`` (generous: the target is a few seconds;
  the times are printed, ``pytest -s``);
- no traceback or interpreter complaint on stderr;
- nothing left: no process of its session (worker processes, multiprocessing's
  resource tracker), no throwaway server (a process naming the ``TMPDIR``), an
  empty ``TMPDIR``, no scratch table on the server;
- what was measured kept as promised: the document on stdout is the result file's,
  ``complete`` false when the signal cut the measuring (with what was measured in
  it), true with a line saying so when it came after; before anything was measured,
  one line, ``dbbench: error: interrupted``.

The moments are aimed at, not guaranteed on a loaded machine (a run may be further
on than the moment seen); every check holds at every moment, so none is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import TestServer, clean_environment, side_by_side
from tests.integration.test_writes import scratch_tables

#: a stop must end within this (seconds): far above the few seconds it takes, for load
STOP_LIMIT_S = 30.0
#: how long a case waits for its moment, however loaded the machine
MOMENT_LIMIT_S = 120.0
#: between the signals of one case
GAP_S = 0.02
#: what must never be on stderr
COMPLAINTS = (
    "Traceback",
    "Exception ignored",
    "Fatal Python error",
    "leaked",
    "resource_tracker",
    "Error in atexit",
    "unexpected",
)

LOCAL = ("--server", "local")
RUN = ("run", *LOCAL, "--runner", "pool,persistent", "-c", "2", "--duration", "20s")
PROCESSES = (*RUN, "--processes", "2")
WARMUP = (*RUN, "--warmup", "3000", "--query", "SELECT SLEEP(0.001)")
SWEEP = ("compare", *LOCAL, "--pool-size", "1,2,3", "-c", "2", "--duration", "1s")
REPEATS = ("run", *LOCAL, "--runner", "pool", "-n", "300", "--repeat", "5")
STALE = ("stale", *LOCAL, "--wait-timeout", "2", "--idle", "3s", "--pool-size", "2")
SHORT = ("run", *LOCAL, "--runner", "persistent", "-n", "200")
ASYNC = ("run", *LOCAL, "--runner", "async-pool,pool", "-c", "3", "--duration", "20s")
EXPLAIN = ("explain", *LOCAL, "-n", "50000")
CALIBRATE = ("calibrate", *LOCAL, "--runner", "pool", "-n", "300", "--trials", "20")
INSERT = ("run", "--workload", "insert", "--allow-writes", "--runner", "pool,persistent")
INSERT += ("-c", "2", "--duration", "20s")


@dataclass
class Launched:
    """A ``dbbench`` process of a case, and where it writes."""

    process: subprocess.Popen
    directory: Path  # its working directory: stdout, stderr and the result file
    tmp: Path  # its TMPDIR
    server: object = None  # the session's server, for the cases run against it

    @property
    def result_path(self) -> Path:
        return self.directory / "result.json"

    def stderr(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.directory / "stderr").read_text(errors="replace")
        return ""

    def stdout(self) -> str:
        return (self.directory / "stdout").read_text(errors="replace")

    def left(self) -> list[tuple[int, str]]:
        """What is left of it: ``left_by``."""
        return left_by(self.process.pid, self.tmp)

    def document(self) -> dict | None:
        return _read(self.result_path)


def _until(what: str, ready: Callable[[], bool], run: Launched) -> None:
    deadline = time.monotonic() + MOMENT_LIMIT_S
    while not ready():
        code = run.process.poll()
        assert code is None, f"ended ({code}) before {what}: {run.stderr()[-2000:]}"
        assert time.monotonic() < deadline, f"not {what} in {MOMENT_LIMIT_S:g} s"
        time.sleep(0.01)


# ----------------------------------------------------------------------------- moments


def after(seconds: float) -> Callable[[Launched], None]:
    def moment(run: Launched) -> None:
        time.sleep(seconds)

    moment.__doc__ = f"{seconds:g} s after the start"
    return moment


def server_starting(run: Launched) -> None:
    """the throwaway server's directory made: it is being copied, started"""
    _until(
        "the throwaway server's directory",
        lambda: any(p.name.startswith("dbbench-server-") for p in run.tmp.iterdir()),
        run,
    )


def server_started(run: Launched) -> None:
    """the throwaway server answers: dbbench checks it, the query, the budget"""
    _until("the throwaway server", lambda: "started a throwaway server" in run.stderr(), run)


def _read(path: Path) -> dict | None:
    with contextlib.suppress(FileNotFoundError):
        return json.loads(path.read_text())  # replaced whole, never half-written
    return None


def _results(document: dict | None) -> list[dict]:
    return document["results"] if document else []


def warming_up(run: Launched) -> None:
    """the result file written at the cold start, nothing measured yet"""
    _until("the warm-up", lambda: run.document() is not None, run)


def measuring(run: Launched) -> None:
    """the result file shows operations measured"""
    _until("measuring", lambda: any(r["n"] > 0 for r in _results(run.document())), run)


def workers_starting(run: Launched) -> None:
    """a worker process exists (spawned: its interpreter is starting up)"""
    _until("a worker process", lambda: any("spawn_main" in c for _, c in run.left()), run)


def first_cell(run: Launched) -> None:
    """a sweep's first cell written: the next one is being checked or measured"""
    _until("a cell", lambda: bool((run.document() or {}).get("cells")), run)


def second_repetition(run: Launched) -> None:
    """the second of five repetitions under way"""
    _until(
        "the second repetition",
        lambda: len((run.document() or {}).get("repetitions") or []) >= 2,
        run,
    )


def _idle_connections(run: Launched) -> int:
    line = next(x for x in run.stderr().splitlines() if "started a throwaway server" in x)
    port = int(line.rsplit(":", 1)[1].split()[0])
    throwaway = TestServer("127.0.0.1", port, "root", "", "test")
    with throwaway.connect(connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE COMMAND = 'Sleep' AND TIME >= 1 AND ID != CONNECTION_ID()"
        )
        return int(cursor.fetchone()[0])


def idle(run: Launched) -> None:
    """stale's pool idle for a second (the server's process list): its idle wait"""
    server_started(run)
    _until("the idle wait", lambda: _idle_connections(run) > 0, run)


def second_idle(run: Launched) -> None:
    """stale's second case in its idle wait, the first one written"""
    _until("a case", lambda: bool((run.document() or {}).get("cases")), run)
    idle(run)


def measured(run: Launched) -> None:
    """the complete result written: the server is stopped, the output printed"""
    _until("the end", lambda: (run.document() or {}).get("complete") is True, run)


def first_trial(run: Launched) -> None:
    """calibrate's first trial written: the next one under way"""
    _until("a trial", lambda: bool((run.document() or {}).get("trials")), run)


def explaining(run: Launched) -> None:
    """explain says how many rounds it measures: it measures them"""
    _until("explain's rounds", lambda: "rounds of" in run.stderr(), run)


def table_made(run: Launched) -> None:
    """the scratch table exists on the server: just created"""
    _until("the scratch table", lambda: bool(scratch_tables(run.server)), run)


# ------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    moment: Callable[[Launched], None]
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM,)
    #: to the process group, as a terminal's Ctrl-C or hang-up; else to dbbench alone
    group: bool = False
    #: what the output may be: "nothing" (one line: stopped before a document), "empty"
    #: (a document, complete false, nothing measured yet), "partial" (complete false, with
    #: what was measured), "whole" (complete: the signal came after the measuring)
    keeps: tuple[str, ...] = ("nothing", "empty", "partial", "whole")
    #: against the session's server (a scratch table to look for), not a throwaway one
    on_server: bool = False
    #: a document on stdout (--format json) and in a file (-o): compared; else a page
    #: (report)
    documents: bool = True
    extra: tuple[str, ...] = field(default=())


TERM, INT, HUP = signal.SIGTERM, signal.SIGINT, signal.SIGHUP
TWICE_AND_INT = (TERM, TERM, INT)
#: a signal while measuring: what was measured is in the document (or all of it, the
#: run having finished by the time the signal landed on a slow machine)
MEASURED = ("partial", "whole")
#: in the warm-up: nothing measured yet, or the measuring begun meanwhile
WARM = ("empty", *MEASURED)

CASES = [
    # a sweep of delays through whatever the start-up, the checks and the run are here
    *(Case(f"run, {s:g} s in, TERM", RUN, after(s)) for s in (0.4, 0.9, 1.6, 2.5, 4.0)),
    Case("run, server starting, TERM TERM INT", RUN, server_starting, TWICE_AND_INT),
    Case("run, server checked, INT", RUN, server_started, (INT,)),
    Case("run, warm-up, HUP", WARMUP, warming_up, (HUP,), keeps=WARM),
    Case("run, measuring, TERM", RUN, measuring, keeps=MEASURED),
    Case("run, measuring, HUP to the group", RUN, measuring, (HUP,), group=True, keeps=MEASURED),
    Case("run, measured, TERM INT", SHORT, measured, (TERM, INT), keeps=("whole",)),
    Case("async-pool, measuring, TERM TERM", ASYNC, measuring, (TERM, TERM), keeps=MEASURED),
    Case("processes, workers starting, INT INT to the group", PROCESSES, workers_starting,
         (INT, INT), group=True),  # fmt: skip
    Case("processes, warm-up, TERM TERM INT", (*WARMUP, "--processes", "2"), warming_up,
         TWICE_AND_INT, keeps=WARM),  # fmt: skip
    Case("processes, measuring, TERM TERM INT", PROCESSES, measuring, TWICE_AND_INT,
         keeps=MEASURED),  # fmt: skip
    Case("processes, measuring, INT INT to the group", PROCESSES, measuring, (INT, INT),
         group=True, keeps=MEASURED),  # fmt: skip
    Case("processes, measuring, HUP TERM to the group", PROCESSES, measuring, (HUP, TERM),
         group=True, keeps=MEASURED),  # fmt: skip
    Case("sweep, after the first cell, TERM", SWEEP, first_cell, keeps=MEASURED),
    Case("sweep, after the first cell, HUP INT", SWEEP, first_cell, (HUP, INT), keeps=MEASURED),
    Case("repeat, second repetition, TERM TERM", REPEATS, second_repetition, (TERM, TERM),
         keeps=MEASURED),  # fmt: skip
    Case("stale, first idle wait, INT", STALE, idle, (INT,), keeps=("nothing",)),
    Case("stale, second idle wait, HUP HUP", STALE, second_idle, (HUP, HUP), keeps=MEASURED),
    Case("calibrate, after the first trial, TERM INT", CALIBRATE, first_trial, (TERM, INT),
         keeps=MEASURED),  # fmt: skip
    # explain writes its document at the end only: interrupted, it says so and keeps nothing
    Case("explain, measuring, TERM TERM", EXPLAIN, explaining, (TERM, TERM), keeps=("nothing",)),
    Case("insert, table just made, TERM TERM", INSERT, table_made, (TERM, TERM), on_server=True),
    Case("insert, measuring, INT INT TERM to the group", (*INSERT, "--processes", "2"), measuring,
         (INT, INT, TERM), group=True, keeps=MEASURED, on_server=True),  # fmt: skip
    *(
        Case(f"report, {s:g} s in, TERM INT", ("report", "-o", "report.html"), after(s),
             (TERM, INT), documents=False, keeps=("nothing", "printed"),
             extra=("run.json", "sweep.json"))  # fmt: skip
        for s in (0.3, 0.6)
    ),
]

DATA = Path(__file__).resolve().parents[1] / "data" / "results"


def left_by(pid: int, tmp: Path) -> list[tuple[int, str]]:
    """The live processes of the session ``pid`` leads (dbbench and all it started that
    stays in it), and every live process naming ``tmp``, its TMPDIR (a throwaway server
    is in a session of its own): (pid, command line)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        state, session = fields[0], int(fields[3])
        if state != "Z" and (session == pid or str(tmp) in command):
            found.append((int(proc.name), command))
    return found


def _nothing_left(pid: int, tmp: Path) -> list[tuple[int, str]]:
    """``left_by``, once a process just killed had a moment to go."""
    deadline = time.monotonic() + 10
    while left_by(pid, tmp) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left_by(pid, tmp)


def _send(run: Launched, signals: tuple[signal.Signals, ...], group: bool) -> None:
    for number in signals:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(run.process.pid, number)
            else:
                os.kill(run.process.pid, number)
        time.sleep(GAP_S)


def _launch(case: Case, directory: Path, tmp: Path, server) -> Launched:
    env = server.env() if case.on_server else clean_environment()
    env["TMPDIR"] = str(tmp)
    args = [*case.args, *case.extra]
    if case.documents:  # explain takes json by its --format alone
        args += ["--format", "json", "-o", "result.json"]
    for name in case.extra:
        shutil.copy(DATA / name, directory / name)
    with (directory / "stdout").open("wb") as out, (directory / "stderr").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "dbbench", *args],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own session and process group: what it leaves shows
        )
    return Launched(process, directory, tmp, server)


def _measured_something(document: dict) -> bool:
    if document["command"] == "sweep":
        return bool(document["cells"])
    if document["command"] == "stale":
        return bool(document["cases"])
    if document["command"] == "calibrate":
        return bool(document["trials"])
    return any(r["n"] > 0 for r in document["results"])


def _check(case: Case, run: Launched, stop_s: float, tables_before: list[str] | None) -> str:
    stderr, stdout = run.stderr(), run.stdout()
    said = f"{case.name}: stderr {stderr[-3000:]!r}"
    assert run.process.returncode == 130, said
    assert stop_s < STOP_LIMIT_S, said
    for complaint in COMPLAINTS:
        assert complaint not in stderr, said
    assert _nothing_left(run.process.pid, run.tmp) == [], said
    assert list(run.tmp.iterdir()) == [], said
    if tables_before is not None:
        assert scratch_tables(run.server) == tables_before, said
    leftovers = [p.name for p in run.directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], said  # no temporary of an atomic write
    if not stdout.strip():
        assert stderr.rstrip().endswith("dbbench: error: interrupted"), said
        kept = "nothing"
    elif case.documents:
        document = json.loads(stdout)
        assert document == run.document(), said  # printed and written alike
        if document["complete"]:
            assert "after it had measured: what it printed and wrote is complete" in stderr, said
            kept = "whole"
        else:
            kept = "partial" if _measured_something(document) else "empty"
    else:
        kept = "printed"
    assert kept in case.keeps, said
    if not case.documents:  # the page: there whole, or not at all
        page = run.directory / "report.html"
        assert not page.exists() or page.read_text().rstrip().endswith("</html>"), said
    return kept


def _run_case(case: Case, root: Path, server) -> str:
    directory = root / case.name.replace(" ", "_").replace(",", "")
    directory.mkdir()
    tmp = Path(tempfile.mkdtemp(prefix="dbbench-signals-"))  # short: sockets fit
    tables = scratch_tables(server) if case.on_server else None
    run = _launch(case, directory, tmp, server)
    try:
        case.moment(run)
        sent = time.monotonic()
        _send(run, case.signals, case.group)
        run.process.wait(timeout=STOP_LIMIT_S + 30)
        stop_s = time.monotonic() - sent
        kept = _check(case, run, stop_s, tables)
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
        for pid, _ in run.left():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    return f"{case.name}: exit 130 in {stop_s:.2f} s, kept {kept}"


def test_stop_signals_at_many_moments(server, tmp_path):
    # the cases on the session's server one after another: each looks for its scratch table
    on_server = [case for case in CASES if case.on_server]

    def one_after_another() -> str:
        return "\n".join(_run_case(case, tmp_path, server) for case in on_server)

    lines = side_by_side(
        one_after_another,
        *(lambda c=c: _run_case(c, tmp_path, server) for c in CASES if not c.on_server),
        workers=3,
    )
    print("\n" + "\n".join(lines))


def test_a_closed_terminal_stops_a_run_with_processes_and_keeps_what_it_measured(tmp_path):
    """The terminal's master side closed (an ssh session dropped): dbbench, the session
    leader, gets SIGHUP, and its output can no longer be written."""
    tmp = Path(tempfile.mkdtemp(prefix="dbbench-signals-"))
    path = tmp_path / "result.json"
    env = {**clean_environment(), "TMPDIR": str(tmp)}
    args = [sys.executable, "-m", "dbbench", *PROCESSES, "-o", str(path)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        try:
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    try:
        deadline = time.monotonic() + MOMENT_LIMIT_S
        while not any(r["n"] > 0 for r in _results(_read(path))):
            assert time.monotonic() < deadline, "not measuring"
            if select.select([fd], [], [], 0.1)[0]:
                with contextlib.suppress(OSError):
                    os.read(fd, 65536)  # its progress: read, or it would block on the terminal
        sent = time.monotonic()
        os.close(fd)
        fd = -1
        _, status = os.waitpid(pid, 0)
        stop_s = time.monotonic() - sent
        assert os.waitstatus_to_exitcode(status) == 130
        assert stop_s < STOP_LIMIT_S
        assert _nothing_left(pid, tmp) == []
        assert list(tmp.iterdir()) == []
        document = json.loads(path.read_text())
        assert document["complete"] is False and _measured_something(document)
        print(f"\nclosed terminal, processes, measuring: exit 130 in {stop_s:.2f} s")
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_hang_up_ignored_at_the_start_stays_ignored(server, tmp_path):
    """``nohup`` ignores SIGHUP: the run goes on through a hang-up, its workers too."""
    script = (
        "import signal, subprocess, sys;"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN);"
        "sys.exit(subprocess.call(sys.argv[1:]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, sys.executable, "-m", "dbbench", "run", "-n", "3000",
         "--runner", "persistent", "-c", "2", "--processes", "2", "-o", "result.json"],
        cwd=tmp_path, env=server.env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    run = Launched(process, tmp_path, tmp_path)
    try:
        measuring(run)
        os.killpg(process.pid, signal.SIGHUP)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert run.document()["complete"] is True
