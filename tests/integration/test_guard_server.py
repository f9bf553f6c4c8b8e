"""The read-only guard against a real server: what it lets through changes nothing there,
what it refuses never reaches it.

A throwaway MariaDB of this module's own (nothing else runs on it) is watched by a
``Witness``: its write counters (``SHOW GLOBAL STATUS``: ``Handler_write``,
``Handler_update``, ``Handler_delete``, ``Innodb_rows_*``, ``Com_insert``,
``Com_create_*``, ``Com_lock_tables``, ``Com_do``, ``Com_ha_*``, ...), every global
variable, the user locks the session holds (``RELEASE_ALL_LOCKS()`` in it), the rows it
has locked (another session's ``FOR UPDATE NOWAIT``, before the session rolls back) and the
file a ``SELECT ... INTO OUTFILE`` would write.  What the watching itself moves is measured
first (``SELECT 1`` watched the same way) and must be nothing; that the witness sees each
kind of change is checked too, on statements the guard refuses, run behind its back.

- the differential: every read and session SET the tables of ``tests/sql_disguises``
  hold, and hypothesis's disguises of them and of changes, that the guard lets through
  run on the server in four sql_modes (its default, ``ANSI_QUOTES,NO_BACKSLASH_ESCAPES``,
  ``ORACLE``, ``MSSQL``), in one session with several statements allowed (as mysqlclient runs a
  query and an init_command): nothing may move;
- the real CLI: a table of refused queries and init_commands (every command that sends
  SQL, variants, projections) answered in one line, exit 2, and no connection to the
  server at all (its ``Connections`` counter); and allowed ones that run and move nothing;
- the read-only session of docs/reference/safety.md (``init_command = "SET autocommit = 0,
  SESSION tx_read_only = 1"``): the server stops a stored function that writes, which the
  text cannot see, and with PyMySQL and mysqlclient it costs no round trip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymysql.constants import CLIENT

from dbbench import drivers
from dbbench.cli import cli
from dbbench.errors import ConfigError
from dbbench.guard import check_init_command, is_read_only
from dbbench.server.local import ServerAddress
from tests.integration.conftest import clean_environment, database_for, run_dbbench, side_by_side
from tests.sql_disguises import READS, SESSION_SETS, TABLES, WRITES, changes, disguised

#: the counters that move when anything is written, created, dropped, locked or run
_WATCHED = re.compile(
    r"(?:Handler_(?:write|update|delete)|Innodb_rows_(?:inserted|updated|deleted))$"
    r"|Com_(?:insert|update|delete|replace|create_|drop_|alter_|rename_|truncate|lock_tables|"
    r"do$|call_procedure|load|grant|revoke|flush|kill|ha_|xa_|purge|reset|install_|"
    r"uninstall_|backup|shutdown|change_|start_|stop_)"
)  # not Com_set_option: a session's own SET counts there (a global one moves a variable)
#: global variables that move by themselves
_RESTLESS = frozenset({"timestamp"})
SQL_MODES = (None, "ANSI_QUOTES,NO_BACKSLASH_ESCAPES", "ORACLE", "MSSQL")
_LOCKED = (1205, 3572)  # lock wait timeout (NOWAIT), and MySQL's own number for it


@dataclass
class Witness:
    """Watches a throwaway server for any change a statement makes (see the module's
    docstring); ``noise``: what the watching itself moves, measured once."""

    address: ServerAddress
    outfile: Path
    monitor: pymysql.connections.Connection
    noise: dict[str, int] = dataclasses.field(default_factory=dict)
    #: the server's own, restored by ``reset``
    max_connections: int = 151

    def _rows(self, sql: str) -> list[tuple]:
        with self.monitor.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    def counters(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._rows("SHOW GLOBAL STATUS") if _WATCHED.match(k)}

    def connections(self) -> int:
        return int(self._rows("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])

    def variables(self) -> dict[str, str]:
        return {k: v for k, v in self._rows("SHOW GLOBAL VARIABLES") if k not in _RESTLESS}

    def client(self, sql_mode: str | None = None) -> pymysql.connections.Connection:
        """A session as dbbench's runners have one (autocommit off), that runs every
        statement of a text, as mysqlclient does."""
        a = self.address
        connection = pymysql.connect(
            host=a.host, port=a.port, user=a.user, password=a.password, database=a.database,
            client_flag=CLIENT.MULTI_STATEMENTS,
        )  # fmt: skip
        if sql_mode is not None:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION sql_mode = %s", (sql_mode,))
        return connection

    def _held(self, client: pymysql.connections.Connection) -> list[str]:
        """What the client's session holds: user locks, and rows another session cannot lock."""
        held = []
        with contextlib.suppress(pymysql.MySQLError), client.cursor() as cursor:
            cursor.execute("SELECT RELEASE_ALL_LOCKS()")
            (locks,) = cursor.fetchone()
            if locks:
                held.append(f"{locks} user lock(s)")
        for table, column in (("t", "a"), ("u", "b")):
            try:
                self._rows(f"SELECT {column} FROM {table} FOR UPDATE NOWAIT")
            except pymysql.MySQLError as exc:
                locked = exc.args[0] in _LOCKED
                held.append(f"rows of {table} locked" if locked else f"{table}: {exc.args}")
        return held

    def moved(self, sql: str, sql_mode: str | None = None) -> dict[str, int]:
        """How far each watched counter moved while ``sql`` ran, the watching included."""
        return self._run(sql, sql_mode)[0]

    def effects(self, sql: str, sql_mode: str | None = None) -> list[str]:
        """Everything ``sql`` changed on the server, beyond what the watching moves, run in a
        fresh session (an error, such as a syntax error under another sql_mode, stops it and
        changes nothing itself)."""
        moved, found = self._run(sql, sql_mode)
        beyond = {k: v - self.noise.get(k, 0) for k, v in moved.items()}
        return [f"{k} {v:+d}" for k, v in sorted(beyond.items()) if v] + found

    def _run(self, sql: str, sql_mode: str | None) -> tuple[dict[str, int], list[str]]:
        counters, variables = self.counters(), self.variables()
        client = self.client(sql_mode)
        try:
            with contextlib.suppress(pymysql.MySQLError), client.cursor() as cursor:
                cursor.execute(sql)
                cursor.fetchall()
                while cursor.nextset():
                    cursor.fetchall()
            held = self._held(client)
            with contextlib.suppress(pymysql.MySQLError):
                client.rollback()
        finally:
            client.close()
        moved = {k: v - counters.get(k, 0) for k, v in self.counters().items()}
        found = [f"@@global.{k}: {variables.get(k)!r} -> {v!r}"
                 for k, v in self.variables().items() if variables.get(k) != v]  # fmt: skip
        if self.outfile.exists():
            self.outfile.unlink()
            found.append(f"wrote {self.outfile}")
        return moved, held + found

    def reset(self) -> None:
        """The tables and the sequence afresh, the global variables as they were."""
        with self.monitor.cursor() as cursor:
            for drop in (
                "VIEW IF EXISTS v",
                "TABLE IF EXISTS t, u, guard_w",
                "SEQUENCE IF EXISTS s",
            ):
                cursor.execute(f"DROP {drop}")
            for statement in TABLES:
                cursor.execute(statement)
            cursor.execute(f"SET GLOBAL max_connections = {self.max_connections}")


@pytest.fixture(scope="module")
def witness(local_server) -> Iterator[Witness]:
    with tempfile.TemporaryDirectory(prefix="dbbench-guard-") as directory, local_server(
        base_dir=directory
    ) as local:  # fmt: skip
        a = local.address
        monitor = pymysql.connect(
            host=a.host, port=a.port, user=a.user, password=a.password, database=a.database,
            autocommit=True,
        )  # fmt: skip
        found = Witness(a, Path(directory) / "guard-outfile", monitor)
        found.max_connections = int(found._rows("SELECT @@max_connections")[0][0])
        found.reset()
        # what the watching moves by itself (SHOW GLOBAL STATUS, the probes, a session's
        # connect and rollback), in every sql_mode: the same each time, and nothing watched
        noise = [found.moved("SELECT 1", mode) for mode in SQL_MODES for _ in range(2)]
        assert all(sample == noise[0] for sample in noise), noise
        assert not any(noise[0].values()), noise[0]
        found.noise = noise[0]
        with monitor:
            yield found


# ----------------------------------------------------------------------- the witness


#: statements the guard refuses, each with an effect the witness must see
DETECTED = (
    *WRITES,
    "SELECT GET_LOCK('guard_x', 0)",
    "SELECT `GET_LOCK`('guard_x', 0)",
    "SELECT NEXTVAL(s)",
    "SELECT NEXT VALUE FOR s",
    "SELECT SETVAL(s, 100)",
    "SELECT * FROM t FOR UPDATE",
    "SELECT * FROM u LOCK IN SHARE MODE",
    "SELECT a FROM t INTO OUTFILE '{outfile}'",
    "SELECT a FROM t LIMIT 1 INTO DUMPFILE '{outfile}'",
    "SELECT 1; DELETE FROM t",
    "/*!DELETE FROM t */",
    "/*M!100100 DELETE FROM t */",
    # a name in brackets is one under sql_mode=MSSQL
    "SET SESSION sql_mode = 'MSSQL'; SELECT [GET_LOCK]('guard_x', 0)",
    "SET SESSION sql_mode = 'MSSQL'; SELECT 1 AS [a'b], GET_LOCK('guard_x', 0), 2 AS [c'd]",
    # init_commands the guard refuses, then a read
    "SET @x = (SELECT COUNT(*) FROM t)",
    "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT * FROM t",
    "SET SESSION tx_isolation = 3; SELECT * FROM t",
)


@pytest.mark.parametrize("sql", DETECTED)
def test_the_witness_sees_each_kind_of_change(witness, sql):
    """Not a test that asserts nothing: each statement the guard refuses, run behind its
    back, moves something the witness watches."""
    sql = sql.format(outfile=witness.outfile)
    assert not is_read_only(sql)
    with pytest.raises(ConfigError):
        check_init_command(sql, allow_writes=False)
    try:
        assert witness.effects(sql), f"{sql!r} changed nothing the witness sees"
    finally:
        witness.reset()


# ----------------------------------------------------------------------- the differential


#: more reads that look like changes, beyond tests/sql_disguises.READS
TRICKY_READS = (
    "SELECT 'a\\' FROM t",  # a backslash: read both ways
    "SELECT '\\'' AS x",
    'SELECT "a""b" AS x',
    "SELECT `a``b` FROM (SELECT 1 AS `a``b`) d",
    "SELECT /*M!999999 1 + */ 1",
    "SELECT 1 /*!99999 + 1 */",
    "SELECT 2*3",
    "SELECT 1 --1",
    "SELECT * FROM t WHERE note LIKE '%UPDATE%'",
    "SELECT IS_USED_LOCK('guard_x'), IS_FREE_LOCK('guard_x')",
    "SELECT COUNT(*) FROM information_schema.tables",
    "SHOW ENGINE INNODB STATUS",
    "SHOW GLOBAL STATUS LIKE 'Handler_write'",
    "EXPLAIN FORMAT=JSON SELECT * FROM t",
    "SELECT * FROM t WINDOW w AS (ORDER BY a)",
    "SELECT JSON_OBJECT('update', 1, 'delete', 2)",
)
_CASES = [(sql, mode) for sql in (*READS, *TRICKY_READS) for mode in SQL_MODES]


@pytest.mark.parametrize(("sql", "sql_mode"), _CASES)
def test_a_read_the_guard_lets_through_changes_nothing(witness, sql, sql_mode):
    assert is_read_only(sql), sql
    assert witness.effects(sql, sql_mode) == []


@pytest.mark.parametrize("command", SESSION_SETS)
def test_an_init_command_the_guard_lets_through_changes_nothing(witness, command):
    check_init_command(command, allow_writes=False)
    for sql_mode in SQL_MODES:
        assert witness.effects(command, sql_mode) == [], sql_mode


def _allowed(text: str) -> bool:
    try:
        check_init_command(text, allow_writes=False)
    except ConfigError:
        return False
    return True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_whatever_the_guard_lets_through_changes_nothing(witness, data):
    """Disguised reads, session SETs and changes: what the guard lets through (as a query,
    or as an init_command) runs, in every sql_mode, and nothing moves."""
    text = data.draw(
        st.one_of(
            st.sampled_from(READS).flatmap(disguised),
            st.sampled_from(SESSION_SETS).flatmap(disguised),
            changes(str(witness.outfile)).flatmap(disguised),
        )
    )
    if is_read_only(text) or _allowed(text):
        for sql_mode in SQL_MODES:
            assert witness.effects(text, sql_mode) == [], (text, sql_mode)


# ----------------------------------------------------------------------- the real CLI


@dataclass(frozen=True)
class Refused:
    id: str
    args: tuple[str, ...]
    #: substrings of the one stderr line
    expect: tuple[str, ...]
    #: [database] init_command of the settings file (--config); None: no file
    init_command: str | None = None


_BACKQUOTED = "SELECT `GET_LOCK`('guard_x', 0)"
_INIT = "{config}: [database] init_command = "
_REFUSED = [
    # the init_command, every command that connects
    *(
        Refused(f"init-delete-{command}", (command, "--config", "{config}"),
                (_INIT + "'DELETE FROM t'", "may change data (DELETE:",
                 "on every connection it opens", "--allow-writes"), "DELETE FROM t")
        for command in ("run", "compare", "stale", "explain", "calibrate")
    ),
    Refused("init-delete-projection", ("run", "--rtt", "1ms", "--config", "{config}"),
            (_INIT + "'DELETE FROM t'", "--allow-writes"), "DELETE FROM t"),
    Refused("init-delete-variant", ("run", "--variant", "a={plain}", "--variant", "b={config}"),
            (_INIT + "'DELETE FROM t'", "--allow-writes"), "DELETE FROM t"),
    Refused("init-global", ("run", "--config", "{config}"),
            (_INIT + "'SET GLOBAL max_connections = 1'", "beyond the session (GLOBAL)"),
            "SET GLOBAL max_connections = 1"),
    Refused("init-global-at", ("compare", "--config", "{config}"),
            ("@@global.max_connections", "beyond the session (GLOBAL)"),
            "SET @@global.max_connections = 1"),
    Refused("init-lock", ("stale", "--config", "{config}"),
            ("may change data (GET_LOCK():",), "SET @x = `GET_LOCK`('guard_x', 0)"),
    Refused("init-second-statement", ("explain", "--config", "{config}"),
            ("may change data (DELETE", "--allow-writes"), "SET @x = 1; DELETE FROM t"),
    Refused("init-executable-comment", ("calibrate", "--config", "{config}"),
            ("may change data (DELETE",), "/*!DELETE FROM t */"),
    Refused("init-call", ("run", "--config", "{config}"), ("may change data (CALL:",), "CALL p()"),
    Refused("init-password", ("run", "--config", "{config}"),
            ("may change data (SET PASSWORD:",), "SET PASSWORD = PASSWORD('x')"),
    # a backquoted lock function, every command that connects
    *(
        Refused(f"backquoted-get-lock-{command}", (command, "--query", _BACKQUOTED),
                (f"--query = {_BACKQUOTED!r}", "may change data (GET_LOCK():", "--allow-writes"))
        for command in ("run", "compare", "stale", "explain", "calibrate")
    ),
    Refused("backquoted-get-lock-projection", ("run", "--rtt", "1ms", "--query", _BACKQUOTED),
            ("may change data (GET_LOCK():",)),
    # the other disguises
    Refused("ansi-quoted-get-lock", ("run", "--query", "SELECT \"GET_LOCK\"('guard_x', 0)"),
            ("may change data (GET_LOCK():",)),
    Refused("commented-get-lock", ("run", "--query", "SELECT GET_LOCK/**/('guard_x', 0)"),
            ("may change data (GET_LOCK()",)),
    Refused("release-all-locks", ("run", "--query", "SELECT `release_all_locks`()"),
            ("may change data (RELEASE_ALL_LOCKS():",)),
    Refused("oracle-nextval", ("run", "--query", "SELECT s.nextval FROM dual"),
            ("may change data (.NEXTVAL:",)),
    Refused("next-value-for", ("run", "--query", "SELECT NEXT/**/VALUE FOR s"),
            ("may change data (NEXT VALUE FOR",)),
    Refused("setval", ("compare", "--query", "SELECT SETVAL(s, 5)"),
            ("may change data (SETVAL():",)),
    Refused("outfile", ("run", "--query", "SELECT 1 INTO/**/OUTFILE '{outfile}'"),
            ("may change data (OUTFILE",)),
    Refused("for-update", ("stale", "--query", "SELECT * FROM t FOR\nUPDATE"),
            ("may change data (FOR UPDATE:",)),
    Refused("lock-in-share-mode", ("explain", "--query", "SELECT * FROM t LOCK IN SHARE MODE"),
            ("may change data (LOCK IN SHARE MODE:",)),
    Refused("master-pos-wait", ("run", "--query", "SELECT MASTER_POS_WAIT('x', 4)"),
            ("may change data (MASTER_POS_WAIT():",)),
    Refused("second-statement", ("run", "--query", "SELECT 1; DO 1"), ("may change data (DO:",)),
    Refused("versioned-comment", ("run", "--query", "/*M!100100 DELETE FROM t */"),
            ("may change data (DELETE",)),
    Refused("handler", ("calibrate", "--query", "HANDLER t OPEN"), ("may change data (HANDLER:",)),
    Refused("with-delete", ("run", "--query", "WITH x AS (SELECT 1) DELETE FROM t"),
            ("may change data (DELETE:",)),
]  # fmt: skip


def test_the_refused_table_is_large_enough():
    assert len(_REFUSED) >= 30
    assert len({case.id for case in _REFUSED}) == len(_REFUSED)


#: the cases also run through the installed ``dbbench`` in a process of its own (the
#: others through click's CliRunner, in this process: the same CLI, a second each faster)
_THROUGH_A_PROCESS = frozenset(
    {"init-delete-run", "init-delete-variant", "init-lock", "backquoted-get-lock-run",
     "backquoted-get-lock-explain", "outfile"}
)  # fmt: skip


@dataclass(frozen=True)
class _Answer:
    status: int
    stdout: str
    stderr: str


def _refused(case: Refused, witness: Witness, cwd: Path, process: bool) -> tuple[_Answer, dict]:
    """What the CLI answers to ``case``, from ``cwd`` (the settings files are written there)."""
    cwd.mkdir()
    config, plain = cwd / "dbbench.toml", cwd / "plain.toml"
    if case.init_command is not None:
        config.write_text("[database]\ninit_command = " + _toml_string(case.init_command) + "\n")
    plain.write_text("[pool]\npool_size = 2\n")
    context = {"config": str(config), "plain": str(plain), "outfile": str(witness.outfile)}
    args = [arg.format(**context) for arg in case.args]
    env = clean_environment() | witness.address.environment() | {"HOME": str(cwd)}
    if process:
        result = run_dbbench(*args, env=env, timeout_s=60, cwd=cwd, start_new_session=True)
        return _Answer(result.returncode, result.stdout, result.stderr), context
    with contextlib.chdir(cwd):
        unset = {k: None for k in os.environ if k.startswith(("DBBENCH_", "MYSQL_"))}
        result = CliRunner().invoke(cli, args, env=unset | env)
    return _Answer(result.exit_code, result.stdout, result.stderr), context


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def test_what_the_guard_refuses_never_reaches_the_server(witness, tmp_path):
    """Through the real CLI: one line naming the setting, its value and what it found,
    exit 2, nothing on stdout; and not one connection to the server meanwhile."""
    before = witness.connections()
    answers = [(case, *_refused(case, witness, tmp_path / case.id, False)) for case in _REFUSED]
    answers += side_by_side(
        *(
            lambda case=case: (case, *_refused(case, witness, tmp_path / f"{case.id}-p", True))
            for case in _REFUSED
            if case.id in _THROUGH_A_PROCESS
        )
    )
    assert witness.connections() == before, "a refused case connected to the server"
    assert len(answers) == len(_REFUSED) + len(_THROUGH_A_PROCESS)
    for case, answer, context in answers:
        lines = answer.stderr.splitlines()
        assert len(lines) == 1, (case.id, answer.stderr)
        (line,) = lines
        assert line.startswith("dbbench: error: "), (case.id, line)
        for expected in case.expect:
            assert expected.format(**context) in line, (case.id, line)
        assert answer.status == 2, (case.id, line)
        assert answer.stdout == "", case.id
    assert not witness.outfile.exists()


#: runs through the real CLI that the guard lets through: (query, init_command)
_ALLOWED = (
    (
        "SELECT note FROM t WHERE note = 'FOR UPDATE'",
        "SET SESSION wait_timeout = 60, @x = 'DELETE'",
    ),
    ("SELECT `update`, `delete` FROM t", "SET autocommit = 0, SESSION tx_read_only = 1"),
    ("SELECT IS_FREE_LOCK('guard_x'), LASTVAL(s)", "SET NAMES utf8mb4"),
    ("/*M!100100 SELECT a FROM t */", "SET @@session.sql_mode = 'ANSI_QUOTES'"),
    ("SHOW CREATE TABLE t", None),
)


def _dbbench_run(witness: Witness, directory: Path, query: str, init_command: str | None):
    directory.mkdir()
    args = ["run", "--runner", "raw,pool", "-n", "4", "--warmup", "1", "--query", query]
    if init_command is not None:
        (directory / "dbbench.toml").write_text(
            "[database]\ninit_command = " + _toml_string(init_command) + "\n"
        )
        args += ["--config", str(directory / "dbbench.toml")]
    env = clean_environment() | witness.address.environment() | {"HOME": str(directory)}
    return run_dbbench(*args, env=env, timeout_s=120, cwd=directory, start_new_session=True)


def test_what_the_guard_lets_through_the_cli_runs_and_changes_nothing(witness, tmp_path):
    """The CLI's own statements (the checks, the status monitor, the pool's) move nothing
    either: a plain run measures that, and each allowed run must move no more."""
    plain_before = witness.counters()
    result = _dbbench_run(witness, tmp_path / "plain", "SELECT 1", None)
    assert result.returncode == 0, result.stderr
    own = {k: v - plain_before[k] for k, v in witness.counters().items() if v != plain_before[k]}
    assert own == {}, own
    for number, (query, init_command) in enumerate(_ALLOWED):
        counters, variables = witness.counters(), witness.variables()
        result = _dbbench_run(witness, tmp_path / str(number), query, init_command)
        assert result.returncode == 0, (query, result.stderr)
        moved = {k: v - counters[k] for k, v in witness.counters().items() if v != counters[k]}
        assert moved == {}, (query, init_command, moved)
        assert witness.variables() == variables, (query, init_command)
    assert not witness.outfile.exists()


# ----------------------------------------------------------------------- the read-only session


_READ_ONLY_SESSION = "SET autocommit = 0, SESSION tx_read_only = 1"


@pytest.fixture
def writing_function(witness) -> Iterator[str]:
    """A stored function that writes a row of ``u``: a plain SELECT to the guard."""
    with witness.monitor.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA "
            "BEGIN INSERT INTO u VALUES (7); RETURN 1; END"
        )
    yield "SELECT bump()"
    with witness.monitor.cursor() as cursor:
        cursor.execute("DROP FUNCTION bump")
    witness.reset()


def test_a_read_only_session_stops_what_the_text_cannot_see(witness, writing_function, tmp_path):
    """The guard reads text: a stored function that writes passes it.  With the
    init_command of docs/reference/safety.md the server refuses it: one line, exit 1,
    nothing written; without it, the run writes."""
    assert is_read_only(writing_function)
    check_init_command(_READ_ONLY_SESSION, allow_writes=False)
    before = witness.counters()
    result = _dbbench_run(witness, tmp_path / "guarded", writing_function, _READ_ONLY_SESSION)
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert "1792" in line and "READ ONLY" in line, line
    assert witness.counters()["Handler_write"] == before["Handler_write"]
    # what the text rules alone let through: every operation writes a row (which its
    # rollback, or its connection's close, then throws away)
    result = _dbbench_run(witness, tmp_path / "unguarded", writing_function, None)
    assert result.returncode == 0, result.stderr
    assert witness.counters()["Handler_write"] > before["Handler_write"]


def _questions(witness: Witness) -> int:
    return int(witness._rows("SHOW GLOBAL STATUS LIKE 'Questions'")[0][1])


@pytest.mark.parametrize(("driver", "extra"), [("pymysql", 0), ("mysqlclient", 0),
                                               ("mysql-connector", 1)])  # fmt: skip
def test_the_read_only_session_costs_no_round_trip(witness, driver, extra):
    """Its one statement stands in for the driver's own ``SET AUTOCOMMIT = 0`` (PyMySQL,
    mysqlclient): a new connection sends as many statements with it as without it, and is
    read-only.  mysql-connector sends its own as well: one more."""
    database = database_for(witness.address)
    connects = 5

    def statements(init_command: str | None) -> int:
        own = dataclasses.replace(database, init_command=init_command)
        connect = drivers.get_driver(driver).connector(own)
        before = _questions(witness)
        for _ in range(connects):
            connect().close()
        return _questions(witness) - before - 1  # the second SHOW STATUS counts itself

    assert statements(_READ_ONLY_SESSION) == statements(None) + extra * connects
    with contextlib.closing(drivers.get_driver(driver).connector(
        dataclasses.replace(database, init_command=_READ_ONLY_SESSION)
    )()) as connection:  # fmt: skip
        cursor = connection.cursor()
        cursor.execute("SELECT @@autocommit, @@tx_read_only")
        assert tuple(cursor.fetchone()) == (0, 1)
        cursor.close()
