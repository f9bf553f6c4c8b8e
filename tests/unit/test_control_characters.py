"""A control character in any value (a newline, ESC, a carriage return, BEL, a C1 control,
a bidi override) never splits the one error line and never reaches the terminal raw:
it is shown escaped, as a Python string literal writes it (``\\n``, ``\\x1b``).

Through the real command line (click's ``CliRunner``), with a backend that fails the test
if anything would connect: in a flag's value, in a settings file's value, key and name,
in an environment variable, in a file's name, in a result file's labels; and the root,
``DbbenchError`` and the consoles, on their own.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.table import Table
from rich.text import Text

from dbbench.cli import Env, cli
from dbbench.errors import ConfigError, ConnectError, DbbenchError, mention
from dbbench.output.console import SafeConsole, literal
from dbbench.scenarios.backend import Backend
from dbbench.text import CONTROL, printable
from tests.unit.test_bounds import REFUSING

DATA = Path(__file__).resolve().parents[1] / "data" / "results"

#: what a terminal obeys: each must come out escaped
HOSTILE = "a\nb\x1b[31mc\rd\x07e\x9bf\u202eg"
ESCAPED = "a\\nb\\x1b[31mc\\rd\\x07e\\x9bf\\u202eg"


def _raw_controls(text: str) -> list[str]:
    """The control characters of ``text`` a terminal would get, but its line ends."""
    return [c for line in text.splitlines() for c in line if CONTROL.match(c)]


def _invoke(args, env=None, backend=REFUSING):
    environment = {"HOME": os.getcwd(), "DBBENCH_PORT": None, **(env or {})}
    return CliRunner().invoke(cli, args, env=environment, obj=Env(backend=backend))


def _one_clean_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert not _raw_controls(result.stderr), repr(result.stderr)
    assert "\x1b" not in result.output
    return lines[0]


# (id, args, what the one line holds); {missing} is a directory that does not exist
FLAG_CASES = [
    ("duration", ["run", "--duration", HOSTILE], f"--duration = '{ESCAPED}'"),
    ("rate", ["run", "--rate", HOSTILE], f"--rate = '{ESCAPED}'"),
    ("iterations", ["run", "-n", HOSTILE], f"--iterations = '{ESCAPED}'"),
    ("port", ["run", "--port", HOSTILE], f"--port = '{ESCAPED}'"),
    ("concurrency-list", ["run", "-c", f"1,{HOSTILE}"], f"'{ESCAPED}' must be a whole number"),
    ("pool-timeout", ["compare", "--pool-timeout", HOSTILE], f"--pool-timeout = '{ESCAPED}'"),
    ("runner", ["run", "--runner", f"raw,{HOSTILE}"], f"unknown runner '{ESCAPED}'"),
    ("driver", ["explain", "--driver", HOSTILE], f"unknown driver '{ESCAPED}'"),
    ("fail-on", ["diff", "a", "b", "--fail-on", HOSTILE], f"--fail-on = '{ESCAPED}'"),
    ("save", ["run", "--save", HOSTILE], f"--save = '{ESCAPED}'"),
    ("output", ["run", "--output", f"{{missing}}/{HOSTILE}"], f"{{missing}}/{ESCAPED}"),
    ("config-path", ["run", "--config", f"{{missing}}/{HOSTILE}.toml"],
     f"{{missing}}/{ESCAPED}.toml: configuration file not found"),
    ("variant-name", ["compare", "--variant", f"{HOSTILE}=x.toml", "--variant", "b=y.toml"],
     f"--variant = '{ESCAPED}=x.toml'"),
    ("variant-file", ["compare", "--variant", f"a={HOSTILE}.toml", "--variant", "b=y.toml"],
     f"{ESCAPED}.toml: configuration file not found"),
    ("idle", ["stale", "--idle", HOSTILE], f"--idle = '{ESCAPED}'"),
    ("protection", ["stale", "--protection", HOSTILE], f"unknown case '{ESCAPED}'"),
    ("wait-timeout", ["stale", "--wait-timeout", HOSTILE], f"--wait-timeout = '{ESCAPED}'"),
    ("rtt", ["explain", "--rtt", HOSTILE], f"--rtt = '{ESCAPED}'"),
    ("trials", ["calibrate", "--trials", HOSTILE], f"--trials = '{ESCAPED}'"),
    ("show-ref", ["show", HOSTILE], f"'{ESCAPED}': no such result file"),
    ("diff-ref", ["diff", HOSTILE, "x"], f"'{ESCAPED}': no such result file"),
    ("report-input", ["report", f"{HOSTILE}.json", "-o", "page.html"],
     f"{ESCAPED}.json: no such result file"),
    ("unknown-option", ["run", f"--{HOSTILE}"], "No such option"),
    ("bad-choice", ["run", "--format", HOSTILE], f"'{ESCAPED}' is not one of"),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in FLAG_CASES],
                         ids=[c[0] for c in FLAG_CASES])
def test_a_flag_s_control_characters_are_escaped_in_the_one_line(args, expected, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = str(tmp_path / "missing")
    result = _invoke([arg.replace("{missing}", missing) for arg in args])
    line = _one_clean_line(result)
    assert line.startswith("dbbench: error: ")
    assert expected.replace("{missing}", missing) in line
    assert result.exit_code in (1, 2)


# TOML writes a control character as an escape: \u001b, \n
FILE_CASES = [
    ("value", '[benchmark]\nduration = "1\\u001b[2J\\ns"\n', '"1\\u001b[2J\\ns"'),
    ("query", '[benchmark]\nquery = "\\u001b]0;title\\u0007"\n', "query = '\\x1b]0;title\\x07'"),
    ("key", '[benchmark]\n"dur\\u001bation" = 5\n', "unknown key 'dur\\x1bation'"),
    ("section", '["bench\\nmark"]\nx = 1\n', "unknown section [bench\\nmark]"),
    ("raw-escape-is-invalid-toml", "[benchmark]\nduration = \"\x1b\"\n", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in FILE_CASES],
                         ids=[c[0] for c in FILE_CASES])
def test_a_settings_file_s_control_characters_are_escaped(text, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "settings.toml"
    path.write_text(text)
    result = _invoke(["run", "--config", str(path)])
    line = _one_clean_line(result)
    assert expected in line
    assert result.exit_code == 2


def test_a_settings_file_whose_name_holds_control_characters(tmp_path, monkeypatch):
    """The name is escaped in the error and in the warning about a readable password."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad\n\x1b[31mname.toml"
    path.write_text("[benchmark]\niterations = 0\n")
    line = _one_clean_line(_invoke(["run", "--config", str(path)]))
    assert "bad\\n\\x1b[31mname.toml: [benchmark] iterations = 0" in line
    path.write_text('[database]\npassword = "secret"\n')
    os.chmod(path, 0o644)
    result = _invoke(["run", "--config", str(path)])
    lines = result.stderr.splitlines()
    # the warning, then the refusing backend's stop: two lines, each whole
    assert lines[0].startswith("dbbench: warning: ") and "bad\\n\\x1b[31mname.toml" in lines[0]
    assert len(lines) == 2 and not _raw_controls(result.stderr)
    assert "secret" not in result.output


def test_an_environment_variable_s_control_characters_are_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _one_clean_line(_invoke(["run"], env={"DBBENCH_PORT": HOSTILE}))
    assert f"environment variable DBBENCH_PORT = '{ESCAPED}'" in line


def test_a_failure_s_message_is_escaped_whatever_raised_it(tmp_path, monkeypatch):
    """A server's or a driver's text (a host name, an exception's message) in the line."""
    monkeypatch.chdir(tmp_path)

    def refuse(database, workload):
        raise ConnectError(f"cannot connect to {database.describe()}: {HOSTILE}")

    def crash(database, workload):
        raise RuntimeError(HOSTILE)

    for check, expected in ((refuse, f"cannot connect to root@{ESCAPED}:3306: {ESCAPED}"),
                            (crash, f"unexpected RuntimeError: {ESCAPED}")):
        backend = Backend(check_server=check, finds_no_server=lambda settings: False)
        result = _invoke(["run", "--host", HOSTILE, "-q"], backend=backend)
        assert expected in _one_clean_line(result)
        assert result.exit_code == 1


def test_the_error_itself_holds_no_control_character():
    """The root: whatever a message is built from, a ``DbbenchError`` is one line."""
    error = ConfigError(f"{mention('[pool] pool_size')} = {HOSTILE}")
    assert str(error) == f"[pool] pool_size = {ESCAPED}"
    assert error.render(lambda name: "--pool-size") == f"--pool-size = {ESCAPED}"
    assert not _raw_controls(str(error)) and "\n" not in str(error)
    assert str(DbbenchError("\x02unclosed mark")) == "\\x02unclosed mark"
    # as a worker process sends it to its parent
    assert str(pickle_roundtrip(error)) == str(error)


def pickle_roundtrip(error: Exception) -> Exception:
    import pickle

    return pickle.loads(pickle.dumps(error))


def test_printable_escapes_every_control_and_keeps_the_rest():
    assert printable(HOSTILE) == ESCAPED
    assert printable("tab\there", keep="\n") == "tab\\there"
    assert printable("two\nlines", keep="\n") == "two\nlines"
    assert printable("Größe ✓ 名前 \\x1b") == "Größe ✓ 名前 \\x1b"  # text, and a backslash
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0x202E, 0x2066]:
        assert not _raw_controls(printable(chr(code))), hex(code)


def test_the_console_escapes_what_a_format_forgot():
    out = io.StringIO()
    console = SafeConsole(file=out, width=120, force_terminal=True)
    table = Table(title=f"title {HOSTILE}")
    table.add_column("a")
    table.add_row(f"cell {HOSTILE}")
    table.add_row(Text(f"text {HOSTILE}"))
    console.print(table)
    console.print(f"printed {HOSTILE}", markup=False)
    text = out.getvalue()
    # rich's own colours remain; no ESC of the values does
    assert text.count("\x1b[31m") == 0 and "\\x1b[31m" in text
    assert "\x07" not in text and "\r" not in text and "\x9b" not in text
    assert literal("[bold red]x[/]\x1b") == "\\[bold red]x\\[/]\\x1b"


def _hostile_result(tmp_path: Path) -> Path:
    """run.json with markup, control characters and a formula in its labels and texts (a
    runner's own label is refused unless it is one dbbench writes: its speedups' are not)."""
    document = json.loads((DATA / "run.json").read_text())
    label = {"raw": "[bold red]raw[/]", "pool": "pool\x1b[2J", "persistent": "=cmd|' /C calc'!A0"}
    for speedup in document["speedups"]:
        speedup["runner"] = label.get(speedup["runner"], speedup["runner"])
        speedup["baseline"] = label.get(speedup["baseline"], speedup["baseline"])
    document["environment"]["server_version"] = "[link=https://x.example]10.11[/link]\x1b]8;;"
    document["settings"]["database"]["host"] = "db\rhost"
    document["notes"] = ["[blink]note[/blink] \x1b[5m :warning:"]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("format_name", ["table", "markdown", "csv", "json"])
def test_a_result_file_s_labels_are_shown_literally(format_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(["show", str(_hostile_result(tmp_path)), "--format", format_name],
                     env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and not _raw_controls(result.stdout)
    if format_name == "table":
        assert "[bold red]raw[/]" in result.stdout  # markup printed as it is, not obeyed
        assert "[link=https://x.example]10.11[/link]" in result.stdout
        assert "[blink]note[/blink]" in result.stdout and ":warning:" in result.stdout
        assert "pool\\x1b[2J" in result.stdout and "db\\rhost" in result.stdout
    if format_name == "markdown":
        assert "\\[bold red\\]raw\\[/\\]" in result.stdout
    if format_name == "json":  # the document as the file has it: every character kept
        speedups = json.loads(result.stdout)["speedups"]
        assert any(speedup["runner"] == "pool\x1b[2J" for speedup in speedups)
