"""scripts.parse: pgbench's -f scripts -> statements, \\set, \\sleep; each bad one refused in
one line naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbbench.errors import ConfigError
from dbbench.scripts.expr import Call, Constant, Variable
from dbbench.scripts.parse import (
    SCRIPT_LIMIT,
    Reference,
    SetVariable,
    Sleep,
    Statement,
    parse_script,
    read_script,
)
from tests.pgbench_scripts import SELECT_ONLY, TPCB_LIKE
from tests.special_files import directory, fifo, zero


def statements(text: str, dialect: str = "postgresql", variables=("x",)) -> list[tuple]:
    script = parse_script(text, "t.sql", dialect=dialect, variables=variables)
    return [(s.sql, s.line, [r.name for r in s.references]) for s in script.statements]


def test_select_only_builtin_parses():
    script = parse_script(SELECT_ONLY, "select-only.sql", variables={"scale"})
    set_aid, select = script.commands
    assert set_aid == SetVariable(
        "aid",
        Call(
            "random",
            (Constant(1, 8), Call("*", (Constant(100000, 11), Variable("scale", 20)), 18)),
            1,  # offsets in the expression's text, " random(...)"
        ),
        2,
    )
    assert select == Statement(
        "SELECT abalance FROM pgbench_accounts WHERE aid = :aid",
        3,
        (Reference("aid", 50, 54),),
        0,
    )


def test_tpcb_like_builtin_parses():
    script = parse_script(TPCB_LIKE, "tpcb.sql", variables={"scale"})
    assert [c.name for c in script.commands if isinstance(c, SetVariable)] == [
        "aid", "bid", "tid", "delta",
    ]
    sqls = [s.sql.split()[0] for s in script.statements]
    assert sqls == ["BEGIN", "UPDATE", "SELECT", "UPDATE", "UPDATE", "INSERT", "END"]
    assert [s.index for s in script.statements] == list(range(7))
    assert [r.name for r in script.statements[5].references] == ["tid", "bid", "aid", "delta"]


GOOD = [
    # (case, script, dialect, [(sql, line, variables)])
    ("one line", "SELECT 1;", "postgresql", [("SELECT 1", 1, [])]),
    ("no final ;", "SELECT 1\n", "postgresql", [("SELECT 1", 1, [])]),
    (
        "two on a line",
        "SELECT 1; SELECT 2;",
        "postgresql",
        [("SELECT 1", 1, []), ("SELECT 2", 1, [])],
    ),
    (
        "spans lines, comments and blank lines skipped",
        "-- head\n\nSELECT a\n  FROM t -- tail\n  WHERE b = :x;\n\n-- end\n",
        "postgresql",
        [("SELECT a\n  FROM t -- tail\n  WHERE b = :x", 3, ["x"])],
    ),
    (
        "; and :x in a string",
        "SELECT ';:x' || 'it''s;';",
        "postgresql",
        [("SELECT ';:x' || 'it''s;'", 1, [])],
    ),
    ("E'' backslash escape", "SELECT E'\\';:x';", "postgresql", [("SELECT E'\\';:x'", 1, [])]),
    (
        "standard string: a backslash ends nothing",
        "SELECT 'a\\'; SELECT 2;",
        "postgresql",
        [("SELECT 'a\\'", 1, []), ("SELECT 2", 1, [])],
    ),
    (
        "dollar quotes",
        "SELECT $$;:x$$, $f$ $$ ; $f$;",
        "postgresql",
        [("SELECT $$;:x$$, $f$ $$ ; $f$", 1, [])],
    ),
    (
        "$1 and a$b are no quotes",
        "SELECT a$b$ FROM t WHERE c = $1;",
        "postgresql",
        [("SELECT a$b$ FROM t WHERE c = $1", 1, [])],
    ),
    ("quoted identifier", 'SELECT ";:x" FROM t;', "postgresql", [('SELECT ";:x" FROM t', 1, [])]),
    (
        "casts are no variables",
        "SELECT :x::int, 1:::x;",
        "postgresql",
        [("SELECT :x::int, 1:::x", 1, ["x"])],
    ),
    (
        "slices and :=",
        "SELECT a[1:2], f(b := 3);",
        "postgresql",
        [("SELECT a[1:2], f(b := 3)", 1, [])],
    ),
    (
        "; inside parentheses",
        "CREATE RULE r AS ON INSERT TO t DO (SELECT 1; SELECT 2);",
        "postgresql",
        [("CREATE RULE r AS ON INSERT TO t DO (SELECT 1; SELECT 2)", 1, [])],
    ),
    (
        "nested block comments",
        "SELECT 1 /* a /* ; */ ; */;",
        "postgresql",
        [("SELECT 1 /* a /* ; */ ; */", 1, [])],
    ),
    ("# is an operator", "SELECT 5 # 3;", "postgresql", [("SELECT 5 # 3", 1, [])]),
    (
        "a meta-command ends a statement",
        "SELECT 1\n\\set y 2\nSELECT :y;",
        "postgresql",
        [("SELECT 1", 1, []), ("SELECT :y", 3, ["y"])],
    ),
    (
        "MySQL: backslash escapes",
        "SELECT 'a\\';:x', \"b\\\";\";",
        "mysql",
        [("SELECT 'a\\';:x', \"b\\\";\"", 1, [])],
    ),
    ("MySQL: backticks", "SELECT `a;:x` FROM t;", "mysql", [("SELECT `a;:x` FROM t", 1, [])]),
    ("MySQL: # comment", "SELECT 1 # ; :x\n;", "mysql", [("SELECT 1 # ; :x", 1, [])]),
    ("MySQL: --x is no comment", "SELECT 1--1;", "mysql", [("SELECT 1--1", 1, [])]),
    (
        "MySQL: block comments do not nest",
        "SELECT 1 /* /* */; SELECT 2;",
        "mysql",
        [("SELECT 1 /* /* */", 1, []), ("SELECT 2", 1, [])],
    ),
    (
        "MySQL: $$ is no quote",
        "SELECT 1 AS $$; SELECT 2;",
        "mysql",
        [("SELECT 1 AS $$", 1, []), ("SELECT 2", 1, [])],
    ),
    (
        "non-ASCII variable",
        "\\set größe 1\nSELECT :größe;",
        "postgresql",
        [("SELECT :größe", 2, ["größe"])],
    ),
    ("empty statements skipped", ";;SELECT 1;;", "postgresql", [("SELECT 1", 1, [])]),
]


@pytest.mark.parametrize(("case", "text", "dialect", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_good_scripts(case, text, dialect, expected):
    assert statements(text, dialect) == expected


def test_sleep_forms():
    script = parse_script(
        "\\sleep 2\n\\sleep 10 ms\n\\sleep 5 US\n\\set t 3\n\\sleep :t s\nSELECT 1;", "t.sql"
    )
    sleeps = [c for c in script.commands if isinstance(c, Sleep)]
    assert sleeps == [
        Sleep(2, 1_000_000, 1), Sleep(10, 1_000, 2), Sleep(5, 1, 3), Sleep("t", 1_000_000, 5),
    ]


def test_set_continues_on_the_next_line():
    script = parse_script("\\set x 1 + \\\n  2\nSELECT :x;", "t.sql")
    assert script.commands[0] == SetVariable(
        "x", Call("+", (Constant(1, 1), Constant(2, 8)), 3), 1  # " 1 + " " 2": joined by a space
    )
    assert script.statements[0].line == 3


def test_references_locate_the_variables():
    (statement,) = parse_script("SELECT :x, ':y', :x + 1;", "t.sql", variables={"x"}).statements
    assert [statement.sql[r.start:r.end] for r in statement.references] == [":x", ":x"]


BAD = [
    # (case, script, the one line)
    (
        "gset",
        "SELECT 1;\nSELECT 2\n\\gset",
        "t.sql:3: unsupported meta-command \\gset (dbbench runs \\set and \\sleep)",
    ),
    (
        "if",
        "\\if :x\nSELECT 1;\n\\endif",
        "t.sql:1: unsupported meta-command \\if (dbbench runs \\set and \\sleep)",
    ),
    (
        "unknown meta-command",
        "\\frobnicate 1\nSELECT 1;",
        "t.sql:1: unknown meta-command \\frobnicate (dbbench runs \\set and \\sleep)",
    ),
    (
        "lone backslash",
        "SELECT 1;\n\\\n",
        "t.sql:2: a backslash with no meta-command after it (dbbench runs \\set and \\sleep)",
    ),
    (
        "compound statement",
        "SELECT 1 \\; SELECT 2;",
        "t.sql:1: \\; is not supported: end each statement with ;",
    ),
    (
        "undefined in SQL",
        "SELECT 1;\nSELECT :nope;",
        "t.sql:2: undefined variable :nope (no \\set above this line sets it, and the run gives "
        "no such variable)",
    ),
    (
        "set after its use",
        "SELECT :y;\n\\set y 1",
        "t.sql:1: undefined variable :y (no \\set above this line sets it, and the run gives no "
        "such variable)",
    ),
    (
        "undefined in \\set",
        "\\set a 1 + :b\nSELECT 1;",
        "t.sql:1: undefined variable :b in \\set a (column 12) (no \\set above this line sets "
        "it, and the run gives no such variable)",
    ),
    (
        "undefined in \\sleep",
        "\\sleep :t ms\nSELECT 1;",
        "t.sql:1: undefined variable :t in \\sleep (no \\set above this line sets it, and the "
        "run gives no such variable)",
    ),
    (
        "hash without default_seed",
        "\\set h hash(1)\nSELECT 1;",
        "t.sql:1: undefined variable :default_seed in \\set h (column 8) (no \\set above this "
        "line sets it, and the run gives no such variable)",
    ),
    (
        "syntax error column",
        "SELECT 1;\n\\set x (1 + 2",
        "t.sql:2: bad expression in \\set x at column 14: expected ')', found the end of the "
        "expression",
    ),
    (
        "syntax error on a continued line",
        "\\set x 1 +\\\n  (2 *\nSELECT 1;",
        "t.sql:2: bad expression in \\set x at column 7: syntax error, found the end of the "
        "expression",
    ),
    (
        "unexpected character",
        "\\set x 1 $ 2\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 10: unexpected character '$'",
    ),
    (
        "bare word",
        "\\set x scale\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: unexpected word 'scale' (a variable is "
        "written :scale, a function call scale(...))",
    ),
    (
        "unknown function",
        "\\set x rand(1, 2)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: unknown function rand()",
    ),
    (
        "refused function",
        "\\set x permute(1, 2)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: function permute() is not supported "
        "(dbbench does not implement it)",
    ),
    (
        "argument count",
        "\\set x random(1)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: random() takes 2 arguments, not 1",
    ),
    (
        "missing expression",
        "\\set x\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 7: an expression is missing",
    ),
    (
        "no name",
        "\\set\nSELECT 1;",
        "t.sql:1: \\set needs a variable and an expression: \\set NAME EXPR",
    ),
    (
        "bad name",
        "\\set 9lives 1\nSELECT 1;",
        "t.sql:1: \\set 9lives: not a variable name (letters, digits and _, not a digit first)",
    ),
    (
        "chained comparison",
        "\\set x 1 < 2 < 3\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 14: comparisons do not chain (write a < b "
        "AND b < c), found '<'",
    ),
    (
        "bigint overflow literal",
        "\\set x 9223372036854775808\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: bigint constant 9223372036854775808 is "
        "out of range",
    ),
    (
        "constant division by zero",
        "\\set x 10 / (5 - 5)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 11: division by zero, whatever the "
        "variables hold",
    ),
    (
        "constant overflow",
        "\\set x 9223372036854775807 + 1\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 28: bigint add out of range, whatever the "
        "variables hold",
    ),
    (
        "empty random range",
        "\\set x random(10, 1)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: empty range given to random, whatever "
        "the variables hold",
    ),
    (
        "gaussian parameter",
        "\\set x random_gaussian(1, 10, 1.5)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: gaussian parameter must be at least "
        "2.000000 (not 1.500000), whatever the variables hold",
    ),
    (
        "zipfian parameter",
        "\\set x random_zipfian(1, 10, 1.0)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: zipfian parameter must be in range "
        "[1.001, 1000] (not 1.000000), whatever the variables hold",
    ),
    (
        "exponential parameter",
        "\\set x random_exponential(1, 10, 0)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: exponential parameter must be greater "
        "than zero (not 0.000000), whatever the variables hold",
    ),
    (
        "random range too large",
        "\\set x random(-9223372036854775808, 9223372036854775807)\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 8: random range is too large, whatever the "
        "variables hold",
    ),
    (
        "boolean arithmetic",
        "\\set x true + 1\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 13: cannot coerce boolean to int, whatever "
        "the variables hold",
    ),
    (
        "nesting",
        "\\set x " + "(" * 40 + "1" + ")" * 40 + "\nSELECT 1;",
        "t.sql:1: bad expression in \\set x at column 40: expression nested too deeply (more "
        "than 32 levels)",
    ),
    (
        "sleep unit",
        "\\sleep 10 min\nSELECT 1;",
        "t.sql:1: \\sleep 10 min: unknown unit (us, ms or s)",
    ),
    (
        "sleep fraction",
        "\\sleep 1.5 ms\nSELECT 1;",
        "t.sql:1: \\sleep 1.5: expected \\sleep N [us|ms|s], N a whole number or a :variable",
    ),
    (
        "sleep nothing",
        "\\sleep\nSELECT 1;",
        "t.sql:1: \\sleep: expected \\sleep N [us|ms|s], N a whole number or a :variable",
    ),
    (
        "sleep too many words",
        "\\sleep 1 s now\nSELECT 1;",
        "t.sql:1: \\sleep 1 s now: expected \\sleep N [us|ms|s], N a whole number or a :variable",
    ),
    ("sleep too long", "\\sleep 86401 s\nSELECT 1;", "t.sql:1: \\sleep 86401 s: longer than a day"),
    (
        "unclosed string",
        "SELECT 1;\nSELECT 'abc;\n",
        "t.sql:2: a quoted string (') that is never closed starts on this line",
    ),
    (
        "unclosed identifier",
        'SELECT "abc;\n',
        "t.sql:1: a quoted identifier (\") that is never closed starts on this line",
    ),
    (
        "unclosed dollar quote",
        "SELECT $x$ abc $y$;",
        "t.sql:1: a $x$ quoted string that is never closed starts on this line",
    ),
    (
        "unclosed comment",
        "SELECT 1;\n/* abc\n",
        "t.sql:2: a /* comment that is never closed starts on this line",
    ),
    ("NUL byte", "SELECT 1;\nSELECT '\x00';", "t.sql:2: a NUL byte: a script is text"),
    (
        "empty",
        "",
        "t.sql:1: no SQL statement in the script (an operation runs the script's statements; "
        "comments, blank lines, \\set and \\sleep alone are none)",
    ),
    (
        "only comments and sets",
        "-- nothing\n\\set x 1\n\\sleep 1 ms\n",
        "t.sql:1: no SQL statement in the script (an operation runs the script's statements; "
        "comments, blank lines, \\set and \\sleep alone are none)",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_scripts_one_line(case, text, message):
    with pytest.raises(ConfigError) as raised:
        parse_script(text, "t.sql")
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_mysql_backtick_unclosed():
    with pytest.raises(ConfigError, match=r"^m.sql:1: a quoted identifier \(`\) that is never"):
        parse_script("SELECT `a", "m.sql", dialect="mysql")


def test_read_script_reads_a_file(tmp_path: Path):
    path = tmp_path / "tx.sql"
    path.write_text(SELECT_ONLY)
    script = read_script(path, variables={"scale"})
    assert script.name == str(path)
    assert [s.sql for s in script.statements] == [
        "SELECT abalance FROM pgbench_accounts WHERE aid = :aid"
    ]
    assert read_script(path, variables={"scale"}, name="tx.sql").where(3) == "tx.sql:3"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (fifo, "is a FIFO (named pipe), not a regular file; dbbench reads only regular files"),
        (zero, "is a character device, not a regular file; dbbench reads only regular files"),
        (directory, "is a directory, not a regular file; dbbench reads only regular files"),
    ],
    ids=["fifo", "device", "directory"],
)
def test_read_script_refuses_special_files(tmp_path: Path, make, reason):
    path = make(tmp_path)
    with pytest.raises(ConfigError) as raised:
        read_script(path)
    assert str(raised.value) == f"{path}: {reason}"


def test_read_script_refuses_what_is_not_a_script(tmp_path: Path):
    missing = tmp_path / "missing.sql"
    with pytest.raises(ConfigError, match=rf"^{missing}: no such file$"):
        read_script(missing)
    big = tmp_path / "big.sql"
    big.write_bytes(b"-" * (SCRIPT_LIMIT + 1))
    with pytest.raises(ConfigError, match=r"big\.sql: is 1 MiB; dbbench reads at most 1 MiB"):
        read_script(big)
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes(b"SELECT '\xe9';")
    with pytest.raises(ConfigError, match=r"latin1\.sql: not UTF-8 text \(invalid continuation"):
        read_script(latin1)


def test_unknown_dialect_is_a_programming_error():
    with pytest.raises(ValueError, match="dialect 'oracle'"):
        parse_script("SELECT 1;", "t.sql", dialect="oracle")


def test_a_byte_order_mark_at_the_start_is_left_out(tmp_path):
    path = tmp_path / "bom.sql"
    path.write_bytes(b"\xef\xbb\xbf\\set a 1\nSELECT :a;\n")
    script = read_script(path)
    assert [s.sql for s in script.statements] == ["SELECT :a"]
    assert script.statements[0].line == 2
    path.write_bytes(b"\xef\xbb\xbfSELECT 1;\n")
    assert [s.sql for s in read_script(path).statements] == ["SELECT 1"]
