"""Where every command writes and what every command reads, through the real CLI (click's
CliRunner) with fake runners: only regular files, read within a limit and without
blocking; a device, FIFO, socket, directory or symbolic link at an output is refused,
never replaced; a missing directory is refused by every command alike; a write that fails
while a run goes is one line, after the results are shown.  stale and explain measure only
on a real server: their refusals are here (made before anything connects), their failed
writes in tests/integration/test_file_paths_real.py."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbbench.cli import Env, cli
from dbbench.errors import ExitStatus
from tests.fakes import FakeClock, FakeRunner, fake_backend
from tests.special_files import (
    REFUSED_TARGETS,
    directory,
    fifo,
    fill,
    huge,
    link_to,
    null,
    socket_node,
    tmpfs,
    zero,
)

DATA = Path(__file__).parent.parent / "data"


class Fake:
    """The CLI against fake runners (no server), counting the runners it made."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.made: list[FakeRunner] = []
        self.hook = hook
        clock = FakeClock()

        def create(label: str, settings: object) -> FakeRunner:
            fail = None
            if self.hook is not None:
                fail = lambda call: self.hook(call)  # noqa: E731
            runner = FakeRunner(label, [], clock, cost_ns=50_000, fail=fail)
            self.made.append(runner)
            return runner

        self.env = Env(backend=fake_backend(create, clock))

    def __call__(self, *args: str):
        return CliRunner().invoke(cli, list(args), obj=self.env)


@pytest.fixture
def fake(monkeypatch, tmp_path) -> Fake:
    monkeypatch.chdir(tmp_path)
    for variable in ("DBBENCH_HOST", "DBBENCH_PORT", "DBBENCH_PASSWORD", "MYSQL_PWD"):
        monkeypatch.delenv(variable, raising=False)
    return Fake()


def _error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


# --- where dbbench writes ---------------------------------------------------------------

#: every command that writes a file, as a user would run it against fake runners
WRITERS = {
    "run": ["run", "-n", "5", "--runner", "pool", "-q"],
    "compare": ["compare", "-n", "5", "--runner", "pool", "--pool-size", "2", "-q"],
    "compare (sweep)": ["compare", "-n", "5", "--runner", "pool", "--pool-size", "1,2", "-q"],
    "calibrate": ["calibrate", "-n", "5", "--runner", "pool", "--repeat", "4", "--trials", "2"],
    "stale": ["stale", "-q"],
    "explain": ["explain", "-q"],
    "report": ["report", str(DATA / "results" / "run.json")],
}
#: those that measure with fake runners (stale and explain need a server)
MEASURING = ["run", "compare", "compare (sweep)", "calibrate"]


def _read_only(tmp: Path) -> Path:
    raise AssertionError("made by the test itself, with a file system of its own")


REFUSED = [*REFUSED_TARGETS, ("read-only file system", _read_only, "(read-only file system)")]


@pytest.mark.parametrize("command", list(WRITERS))
@pytest.mark.parametrize(("make", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_every_command_refuses_an_output_that_is_not_a_regular_file(
    fake, tmp_path, command, make, reason
):
    if make is _read_only:
        with tmpfs(tmp_path / "ro", "size=64k,ro") as read_only:
            _refused(fake, command, read_only / "out.json", reason)
        return
    _refused(fake, command, make(tmp_path), reason)


def _refused(fake: Fake, command: str, target: Path, reason: str) -> None:
    before = os.lstat(target).st_mode if os.path.lexists(target) else None
    listing = sorted(os.listdir(target.parent)) if target.parent.is_dir() else None
    result = fake(*WRITERS[command], "--output", str(target))
    assert result.exit_code == ExitStatus.USAGE, result.output
    line = _error_line(result)
    assert line.startswith(f"dbbench: error: --output = '{target}': ") and reason in line
    assert result.stderr.count("\n") == 1  # that line alone
    assert fake.made == []  # refused before anything was measured
    assert (os.lstat(target).st_mode if os.path.lexists(target) else None) == before
    if listing is not None:
        assert sorted(os.listdir(target.parent)) == listing  # no temporary left


def test_output_at_a_device_node_leaves_a_character_device_behind(fake, tmp_path):
    """The issue's own case: as root, --output /dev/null once replaced /dev/null."""
    device = null(tmp_path)
    for command in WRITERS:
        result = fake(*WRITERS[command], "-o", str(device))
        assert result.exit_code == ExitStatus.USAGE, (command, result.output)
        assert stat.S_ISCHR(os.lstat(device).st_mode)
        assert os.lstat(device).st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_directory_as_the_output_is_refused_by_every_command(fake, tmp_path, command):
    """In dbbench's words, as every other target that is not a regular file (not click's)."""
    _refused(fake, command, directory(tmp_path), "is a directory, not a regular file")
    assert fake.made == [] and (tmp_path / "dir").is_dir()


def _settings_file(tmp: Path) -> tuple[list[str], Path]:
    return ["--config", str(_toml(tmp / "read.toml", "true"))], tmp / "read.toml"


def _found_settings_file(tmp: Path) -> tuple[list[str], Path]:
    return [], _toml(tmp / "dbbench.toml", "true")  # found in the directory, no --config


def _variant_file(tmp: Path) -> tuple[list[str], Path]:
    base, new = _toml(tmp / "base.toml", "false"), _toml(tmp / "new.toml", "true")
    return ["--variant", f"base={base}", "--variant", f"new={new}"], new


def _tls_file(tmp: Path) -> tuple[list[str], Path]:
    from dbbench.server.certificates import make_certificates

    ca = make_certificates(tmp / "certs").ca
    settings = tmp / "tls.toml"
    settings.write_text(f'[database]\nssl_mode = "verify_ca"\nssl_ca = "{ca}"\n')
    return ["--config", str(settings)], ca


def _toml(path: Path, pre_ping: str) -> Path:
    path.write_text(f"[pool]\npool_pre_ping = {pre_ping}\n")
    return path


#: a file the command reads, and how the command is told to read it
INPUTS = {
    "settings file": _settings_file,
    "settings file, found": _found_settings_file,
    "variant's file": _variant_file,
    "TLS file": _tls_file,
}
#: (command, how it reads the file): --variant is compare's alone
READ_AND_WRITTEN = [
    (command, given)
    for command in WRITERS
    if command != "report"  # report checks its own inputs
    for given in INPUTS
    if given != "variant's file" or command == "compare"
]


@pytest.mark.parametrize(("command", "given"), READ_AND_WRITTEN)
def test_an_output_that_is_a_file_the_command_reads_is_refused(fake, tmp_path, command, given):
    """``-o dbbench.toml`` once replaced the settings file with a result."""
    args, path = INPUTS[given](tmp_path)
    text = path.read_text()
    link = tmp_path / "other-name"  # the same file by another name: refused as well
    os.link(path, link)
    for target in (path, link):
        result = fake(*WRITERS[command], *args, "-o", str(target))
        assert result.exit_code == ExitStatus.USAGE, (target, result.output)
        line = _error_line(result)
        assert line.endswith(f"is {path}, a file this command reads"), line
        assert fake.made == [] and path.read_text() == text


@pytest.mark.parametrize("command", list(WRITERS))
def test_an_empty_output_path_is_refused(fake, tmp_path, command):
    result = fake(*WRITERS[command], "-o", "")
    assert result.exit_code == ExitStatus.USAGE, result.output
    line = _error_line(result)
    assert line == "dbbench: error: --output = '': an empty path names no file", line
    assert fake.made == [] and os.listdir(tmp_path) == []


@pytest.mark.parametrize("command", [*MEASURING, "report"])
@pytest.mark.parametrize("existing", [False, True], ids=["absent", "a regular file"])
def test_an_absent_or_regular_output_is_written(fake, tmp_path, command, existing):
    target = tmp_path / "out.file"
    if existing:
        target.write_text("old\n")
    result = fake(*WRITERS[command], "-o", str(target))
    assert result.exit_code == ExitStatus.SUCCESS, result.output
    text = target.read_text()
    assert text.startswith("<!DOCTYPE html>") if command == "report" else json.loads(text)
    assert os.listdir(tmp_path) == ["out.file"]


@pytest.mark.parametrize("command", MEASURING)
def test_a_full_disk_is_one_line_after_the_results_and_keeps_the_old_file(fake, tmp_path, command):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        target = small / "out.json"
        target.write_text("old\n")
        fill(small)
        result = fake(*WRITERS[command], "--format", "csv", "-o", str(target))
        assert result.exit_code == ExitStatus.ERROR
        assert result.stdout.strip()  # what was measured is shown all the same
        assert _error_line(result) == (
            f"dbbench: error: --output = '{target}': cannot write the result file "
            "(No space left on device); the results are on stdout"
        )
        assert len(fake.made) > 0 and target.read_text() == "old\n"
        assert sorted(os.listdir(small)) == ["filler", "out.json"]


def test_a_failed_output_still_saves_the_run_and_says_where(fake, tmp_path):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        fill(small)
        result = fake(*WRITERS["run"], "-o", str(small / "out.json"), "--save", "kept")
    saved = tmp_path / ".dbbench" / "runs" / "0001-kept.json"
    assert result.exit_code == ExitStatus.ERROR
    assert _error_line(result).endswith(
        f"(No space left on device); the results are on stdout and in {saved}"
    )
    assert json.loads(saved.read_text())["complete"] is True
    assert fake("show", "kept").exit_code == ExitStatus.SUCCESS


def test_a_disk_that_fills_mid_run_says_the_file_holds_an_earlier_write(tmp_path, monkeypatch):
    """The first writes reached the file, a later one did not: the line says that what is
    there is not the results printed (its document says "complete": false)."""
    monkeypatch.chdir(tmp_path)
    with tmpfs(tmp_path / "small", "size=64k") as small:
        target = small / "out.json"

        def full(call: int) -> None:
            if call == 3_000:  # after the first writes (about one a second of fake time)
                fill(small)

        result = Fake(full)("run", "-n", "5000", "--runner", "pool", "-o", str(target))
        assert result.exit_code == ExitStatus.ERROR
        assert "pool" in result.stdout
        assert _error_line(result) == (
            f"dbbench: error: --output = '{target}': cannot write the result file (No space "
            f'left on device) ({target} holds an earlier write of this run, not the results: '
            '"complete": false); the results are on stdout'
        )
        assert json.loads(target.read_text())["complete"] is False


def test_a_save_on_a_full_disk_is_one_line_after_the_results(fake, tmp_path, monkeypatch):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        monkeypatch.chdir(small)
        (small / ".dbbench" / "runs").mkdir(parents=True)
        fill(small)
        result = fake(*WRITERS["run"], "--save", "full")
        assert result.exit_code == ExitStatus.ERROR
        assert "pool" in result.stdout
        assert _error_line(result) == (
            f"dbbench: error: --save = '{small}/.dbbench/runs/0001-full.json': cannot write the "
            "result file (No space left on device); the results are on stdout"
        )


def test_a_directory_that_vanishes_mid_run_is_one_line_after_the_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()

    def vanish(call: int) -> None:
        if call == 3_000:  # after the first writes (about one a second of fake time)
            shutil.rmtree(out)

    fake = Fake(vanish)
    result = fake("run", "-n", "5000", "--runner", "pool", "-o", str(out / "r.json"))
    assert result.exit_code == ExitStatus.ERROR
    assert "pool" in result.stdout
    assert _error_line(result) == (
        f"dbbench: error: --output = '{out / 'r.json'}': no such directory {out} "
        "(dbbench creates no directory for it); the results are on stdout"
    )
    assert not out.exists()  # and none was made


def _dbbench_a_file(tmp: Path) -> None:
    (tmp / ".dbbench").write_text("")  # a file where the directory should be


def _runs_a_file(tmp: Path) -> None:
    (tmp / ".dbbench").mkdir()
    (tmp / ".dbbench" / "runs").write_text("")


#: where saved runs cannot be kept, and the reason said
UNSAVABLE = [
    ("a file at .dbbench", _dbbench_a_file, "(Not a directory)"),
    ("a file at .dbbench/runs", _runs_a_file, "(File exists)"),
    ("a read-only file system", None, "(Read-only file system)"),
]


@pytest.mark.parametrize(
    ("make", "reason"), [c[1:] for c in UNSAVABLE], ids=[c[0] for c in UNSAVABLE]
)
def test_a_save_where_saved_runs_cannot_be_kept_is_refused_before_measuring(
    fake, tmp_path, monkeypatch, make, reason
):
    """As an --output that cannot be written: one line naming --save and the file, exit 2."""
    with contextlib.ExitStack() as stack:
        where = tmp_path
        if make is None:
            where = stack.enter_context(tmpfs(tmp_path / "ro", "size=64k,ro"))
            monkeypatch.chdir(where)
        else:
            make(where)
        result = fake(*WRITERS["run"], "--save", "kept")
    runs = where / ".dbbench" / "runs"
    assert result.exit_code == ExitStatus.USAGE, result.output
    assert _error_line(result) == (
        f"dbbench: error: --save = '{runs / '0001-kept.json'}': cannot keep saved runs in "
        f"{runs} {reason}"
    )
    assert fake.made == []


def test_a_saved_run_number_held_by_a_link_is_skipped(fake, tmp_path):
    runs = tmp_path / ".dbbench" / "runs"
    runs.mkdir(parents=True)
    (runs / "0001.json").symlink_to(tmp_path / "nowhere")  # not a run: never written over
    result = fake(*WRITERS["run"], "--save")
    assert result.exit_code == ExitStatus.SUCCESS, result.output
    assert (runs / "0001.json").is_symlink() and json.loads((runs / "0002.json").read_text())


# --- what dbbench reads -----------------------------------------------------------------


def _deep_toml(tmp: Path) -> Path:
    (tmp / "deep").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return tmp / "deep"


def _deep_table(tmp: Path) -> Path:
    (tmp / "deep").write_text("a = " + "{b = " * 10_000 + "1" + "}" * 10_000 + "\n")
    return tmp / "deep"


def _deep_json(tmp: Path) -> Path:
    (tmp / "deep").write_text("[" * 100_000 + "]" * 100_000)
    return tmp / "deep"


def _not_utf_8(tmp: Path) -> Path:
    (tmp / "latin1").write_bytes(b"# caf\xe9\n")
    return tmp / "latin1"


def _real_zero(tmp: Path) -> Path:
    return Path("/dev/zero")


UNREADABLE = [
    # (case, make the file, the reason in the one line)
    ("FIFO", fifo, "is a FIFO (named pipe), not a regular file; dbbench reads only"),
    ("/dev/zero", _real_zero, "is a character device, not a regular file"),
    ("device node", zero, "is a character device, not a regular file"),
    ("socket", socket_node, "is a socket, not a regular file"),
    ("symlink to a device", link_to(zero), "is a character device, not a regular file"),
    ("directory", directory, "is a directory, not a regular file"),
    ("huge sparse file", huge, "is 10 GiB; dbbench reads at most"),
    ("not UTF-8", _not_utf_8, "not UTF-8 text (invalid continuation byte at byte 5)"),
]

SETTINGS_READERS = {
    "run --config": lambda p: ["run", "--config", p, "-n", "5", "--runner", "pool"],
    "stale --config": lambda p: ["stale", "--config", p],
    "explain --config": lambda p: ["explain", "--config", p],
    "calibrate --config": lambda p: ["calibrate", "--config", p, "--runner", "pool"],
    "compare --variant": lambda p: ["compare", "--variant", f"a={p}", "--variant", f"b={p}"],
}
RESULT_READERS = {
    "diff A B": lambda p: ["diff", p, str(DATA / "diff_base.json")],
    "diff B A": lambda p: ["diff", str(DATA / "diff_base.json"), p],
    "diff A": lambda p: ["diff", p],
    "show": lambda p: ["show", p],
    "report": lambda p: ["report", p, "-o", "report.html"],
}


@pytest.mark.parametrize("reader", list(SETTINGS_READERS))
@pytest.mark.parametrize(
    ("make", "reason"),
    [c[1:] for c in UNREADABLE]
    + [
        (_deep_toml, "invalid TOML: arrays or tables nested too deeply"),
        (_deep_table, "invalid TOML: arrays or tables nested too deeply"),
    ],
    ids=[c[0] for c in UNREADABLE] + ["deeply nested TOML arrays", "deeply nested TOML tables"],
)
def test_every_settings_file_read_is_a_regular_file_within_the_limit(
    fake, tmp_path, reader, make, reason
):
    path = make(tmp_path)
    result = fake(*SETTINGS_READERS[reader](str(path)))
    assert result.exit_code == ExitStatus.USAGE, result.output
    line = _error_line(result)
    assert line.startswith(f"dbbench: error: {path}: ") and reason in line
    assert result.stderr.count("\n") == 1 and fake.made == []


@pytest.mark.parametrize("reader", list(RESULT_READERS))
@pytest.mark.parametrize(
    ("make", "reason"),
    [c[1:] for c in UNREADABLE] + [(_deep_json, "not a dbbench result file (JSON nested too")],
    ids=[c[0] for c in UNREADABLE] + ["deeply nested JSON"],
)
def test_every_result_file_read_is_a_regular_file_within_the_limit(
    fake, tmp_path, reader, make, reason
):
    path = make(tmp_path)
    result = fake(*RESULT_READERS[reader](str(path)))
    assert result.exit_code == ExitStatus.ERROR, result.output
    line = _error_line(result)
    assert line.startswith(f"dbbench: error: {path}: ") and reason in line
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "report.html").exists()


#: names put on saved runs by hand, and how the table and CSV show them (escaped)
ODD_NAMES = [
    ("newline", "a\nb", "a\\nb"),
    ("escape", "\x1b[31mred", "\\x1b[31mred"),
    ("tab", "a\tb", "a\\tb"),
    ("trailing newline", "x\n", "x\\n"),
]


@pytest.mark.parametrize(
    ("name", "shown"), [c[1:] for c in ODD_NAMES], ids=[c[0] for c in ODD_NAMES]
)
def test_a_saved_run_with_control_characters_in_its_name_is_listed_escaped(
    fake, tmp_path, name, shown
):
    assert fake(*WRITERS["run"], "--save", "good").exit_code == ExitStatus.SUCCESS
    runs = tmp_path / ".dbbench" / "runs"
    shutil.copy(runs / "0001-good.json", runs / f"0002-{name}.json")
    listing = fake("runs", "--format", "json")
    assert [entry["name"] for entry in json.loads(listing.stdout)["runs"]] == ["good", name]
    table = fake("runs")
    assert table.exit_code == ExitStatus.SUCCESS and "\x1b" not in table.stdout
    assert f" {shown} " in table.stdout
    rows = list(csv.DictReader(io.StringIO(fake("runs", "--format", "csv").stdout)))
    assert [row["name"] for row in rows] == ["good", shown]
    assert fake("show", "2").exit_code == ExitStatus.SUCCESS


@pytest.mark.parametrize(
    ("make", "reason"), [c[1:] for c in UNREADABLE], ids=[c[0] for c in UNREADABLE]
)
def test_runs_lists_a_saved_run_it_cannot_read_with_the_reason(fake, tmp_path, make, reason):
    runs = tmp_path / ".dbbench" / "runs"
    runs.mkdir(parents=True)
    made = make(tmp_path)
    saved = runs / "0001-odd.json"
    if made == Path("/dev/zero"):
        saved.symlink_to(made)
    else:
        made.rename(saved)
    listing = fake("runs", "--format", "json")
    assert listing.exit_code == ExitStatus.SUCCESS, listing.output
    (entry,) = json.loads(listing.stdout)["runs"]
    assert entry["name"] == "odd" and reason in entry["error"]
    table = fake("runs", "--format", "csv")  # the CSV says it too, not an empty row
    (row,) = csv.DictReader(io.StringIO(table.stdout))
    assert table.exit_code == ExitStatus.SUCCESS and row["name"] == "odd"
    assert reason in row["error"] and row["started_at"] == ""
    for reference in ("odd", "1", "latest"):  # and by name, number or latest: refused at once
        shown = fake("show", reference)
        assert shown.exit_code == ExitStatus.ERROR and reason in _error_line(shown)


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_dash_as_the_output_is_no_file_named_dash(fake, tmp_path, command):
    """``-o -`` is standard output to many tools: refused in one line that says what to give,
    and no file named '-' is written; ``./-`` is that file, if it is what you want."""
    result = fake(*WRITERS[command], "-o", "-")
    assert result.exit_code == ExitStatus.USAGE, result.output
    line = _error_line(result)
    assert line.startswith("dbbench: error: --output = '-': dbbench writes no file named '-'")
    assert "--json" in line and fake.made == [] and os.listdir(tmp_path) == []

