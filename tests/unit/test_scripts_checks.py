"""What a script may not do, refused when the settings load (``scripts.checks``): a
transaction left open at its end, a SET of autocommit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dbbench.config.settings import load_settings
from dbbench.errors import ConfigError


def loaded(tmp_path, text: str, name: str = "open.sql", dialect: str = "mysql"):
    path = tmp_path / name
    path.write_text(text)
    flags = {"benchmark": {"scripts": (str(path),)}, "database": {"dialect": dialect}}
    return path, lambda: load_settings(None, env={}, flags=flags)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize(
    ("text", "line", "word"),
    [
        ("BEGIN;\nUPDATE t SET a = 1;\n", 1, "BEGIN"),
        ("\\set x 1\nSELECT 1;\nstart  transaction;\nSELECT :x;\n", 3, "START TRANSACTION"),
        ("BEGIN;\nCOMMIT;\nBEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\n", 3, "BEGIN"),
        ("BEGIN;\nSAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\n", 1, "BEGIN"),
    ],
)
def test_a_script_ending_in_a_transaction_is_refused(tmp_path, dialect, text, line, word):
    path, load = loaded(tmp_path, text, dialect=dialect)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        f"{path}:{line}: the transaction {word} opens here is still open at the end of the "
        "script (pgbench aborts the client there); end it with COMMIT or ROLLBACK"
    )


@pytest.mark.parametrize(
    "text",
    [
        "BEGIN;\nSELECT 1;\nCOMMIT;\n",
        "BEGIN;\nSELECT 1;\nEND;\nSTART TRANSACTION;\nROLLBACK;\n",
        "BEGIN;\nSAVEPOINT a;\nROLLBACK TO a;\nABORT;\nSELECT 2;\n",
        "SELECT 1;\n",
    ],
)
def test_a_script_that_ends_its_transactions_loads(tmp_path, text):
    _, load = loaded(tmp_path, text)
    assert load().benchmark.scripts


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize(
    "statement",
    [
        "SET autocommit = 0",
        "set AUTOCOMMIT=1",
        "SET @@autocommit=0",
        "SET SESSION autocommit=OFF",
        "SET LOCAL autocommit = ON",
        "SET @@session.autocommit = 0",
        "SET @@local.autocommit := 0",
        "SET `autocommit` = 0",
        "SET sql_mode = '', autocommit = 0",
        "SET autocommit TO off",
    ],
)
def test_a_script_setting_autocommit_is_refused(tmp_path, dialect, statement):
    path, load = loaded(tmp_path, f"SELECT 1;\n{statement};\nSELECT 2;\n", dialect=dialect)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        f"{path}:2: a script's transactions are its own BEGIN/COMMIT; SET autocommit would "
        "carry one over to the next operation"
    )


@pytest.mark.parametrize(
    "statement", ["SET @autocommit = 0", "SELECT @@autocommit", "SET @x = @@autocommit"]
)
def test_a_user_variable_or_a_read_of_autocommit_loads(tmp_path, statement):
    _, load = loaded(tmp_path, f"{statement};\n")
    assert load().benchmark.scripts


def test_the_command_line_exits_2_in_one_line(tmp_path):
    path = tmp_path / "open.sql"
    path.write_text("BEGIN;\nSELECT 1;\n")
    done = subprocess.run(
        [sys.executable, "-m", "dbbench", "run", "--script", str(path), "-n", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"dbbench: error: {path}:1: the transaction BEGIN opens here is still open at the end "
        "of the script (pgbench aborts the client there); end it with COMMIT or ROLLBACK"
    ]


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("SELECT :rows;\n", True),
        ("\\set id random(1, :rows)\nSELECT :id;\n", True),
        ("\\set n 5\n\\sleep :rows us\nSELECT :n;\n", True),
        ("\\set rows :rows + 1\nSELECT :rows;\n", True),
        ("\\set rows 10\nSELECT :rows;\n", False),
        ("SELECT ':rows', :scale;\n", False),
    ],
)
def test_a_script_reading_rows_needs_the_data_set(tmp_path, text, reads):
    # the run then reads the data set's rows (databases.read_data_set), as a built-in
    # workload does, refusing a run with none
    from dbbench.scripts.checks import reads_rows

    _, load = loaded(tmp_path, text, "rows.sql")
    (file,) = load().benchmark.scripts
    assert reads_rows(file.script) is reads
