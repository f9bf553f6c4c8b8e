"""PostgreSQL's write guard against a real server: what it lets through changes nothing
there, and what it refuses by name, which a read-only transaction would allow, does.

Against the session's PostgreSQL (``postgresql_server``: a throwaway one, or
DBBENCH_TEST_POSTGRESQL_URL's), in a schema of this module's own (``guard_pg_`` and 8
random hex digits, holding ``tests/pg_disguises.TABLES``, dropped afterwards), through
psycopg2, whose ``execute`` without parameters sends the text in one simple query, so
that every statement of it runs, as dbbench's psycopg2 runs a query.

- the differential: every read and session SET of ``tests/pg_disguises``, hypothesis's
  disguises of them and of changes, and random texts of SQL's pieces, that the guard
  lets through, run in ``BEGIN READ ONLY`` with standard_conforming_strings on and off.
  None may fail with SQLSTATE 25006 (read_only_sql_transaction: PostgreSQL refusing a
  write), none may leave a transaction id assigned (``pg_current_xact_id_if_assigned()``
  is NULL: a transaction that writes anything, a row, a sequence, the catalog, gets one),
  and after its ``COMMIT`` the session holds no advisory lock, no setting of its own
  beyond the test's, no LISTEN, prepared statement or cursor; at the end the tables'
  rows and the sequence are as created.  ``pg_stat_database``'s counters are not
  compared: the server is shared (other sessions commit there) and PostgreSQL 15 flushes
  them late, while the transaction id is exact and immediate.
- the refusals by name: ``pg_advisory_lock``, ``set_config`` (even
  ``default_transaction_read_only`` off) and ``pg_terminate_backend`` run in a read-only
  transaction and have their effect (a lock in ``pg_locks``, the setting changed, the
  other backend gone): the server's read-only mode does not stop them, the guard must;
  nor LOCK, ANALYZE, COPY ... TO PROGRAM, NOTIFY, LISTEN, PREPARE, txid_current() or
  lo_create(), each with its effect shown;
- the scanner's claims about PostgreSQL's lexer, pinned on the server: "--" ends at a
  carriage return, comments nest, U&"" names are decoded, dollar-quote tags and names
  take any letter beyond ASCII, a "$a$" after a number begins a dollar quote, an E''
  literal continued on the next line keeps its escapes.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbbench.errors import ConfigError
from dbbench.guard import check_init_command, is_read_only
from tests.pg_disguises import READS, SESSION_SETS, TABLES, WRITES, changes, disguised

psycopg2 = pytest.importorskip("psycopg2")

#: SQLSTATE read_only_sql_transaction: PostgreSQL refused a write
_READ_ONLY_REFUSAL = "25006"


def _connect(server):
    connection = psycopg2.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password or None,
        dbname=server.database,
        connect_timeout=10,
    )
    connection.autocommit = True
    return connection


@pytest.fixture(scope="module")
def schema(postgresql_server) -> Iterator[str]:
    name = f"guard_pg_{secrets.token_hex(4)}"
    connection = _connect(postgresql_server)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {name}")
        cursor.execute(f"SET search_path TO {name}")
        for statement in TABLES:
            cursor.execute(statement)
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {name} CASCADE")
        connection.close()


class Session:
    """One connection with the test's schema on its search_path, whose state is compared
    before and after each text it runs."""

    def __init__(self, schema: str, server) -> None:
        self.server = server
        self.connection = _connect(server)
        self.schema = schema
        self.run(f"SET search_path TO {schema}")
        self.baseline = self.state()

    def run(self, sql: str) -> list[tuple] | None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def state(self) -> tuple:
        """What a text might leave in the session: advisory locks, settings of its own
        (not the transaction's: transaction_read_only is one after RESET ALL), LISTEN
        channels, prepared statements, cursors."""
        return (
            self.run(
                "SELECT classid, objid, objsubid, mode FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY 1, 2, 3, 4"
            ),
            self.run(
                "SELECT name, setting FROM pg_settings WHERE source = 'session' "
                "AND name NOT LIKE 'transaction\\_%' ORDER BY 1"  # a transaction's own
            ),
            self.run("SELECT * FROM pg_listening_channels() ORDER BY 1"),
            self.run("SELECT name FROM pg_prepared_statements ORDER BY 1"),
            self.run("SELECT name FROM pg_cursors ORDER BY 1"),
        )

    def read_only(self, sql: str, standard_strings: bool = True) -> tuple[str | None, str | None]:
        """Run ``sql`` in a read-only transaction: its SQLSTATE if it failed, else None, and
        the transaction id it had assigned (None: it wrote nothing)."""
        self.run("BEGIN READ ONLY")
        self.run(f"SET LOCAL standard_conforming_strings = {'on' if standard_strings else 'off'}")
        try:
            self.run(sql)
        except psycopg2.Error as error:
            self.run("ROLLBACK")
            return error.pgcode or "?", None
        [(xid,)] = self.run("SELECT pg_current_xact_id_if_assigned()")
        self.run("COMMIT")
        return None, xid

    def reset(self) -> None:
        """The session as it was: settings, LISTENs, prepared statements, advisory locks."""
        self.run("RESET ALL")
        self.run(f"SET search_path TO {self.schema}")
        self.run("UNLISTEN *")
        self.run("DEALLOCATE ALL")
        self.run("SELECT pg_advisory_unlock_all()")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(scope="module")
def session(schema: str, postgresql_server) -> Iterator[Session]:
    session = Session(schema, postgresql_server)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module", autouse=True)
def data_unchanged(schema: str, postgresql_server) -> Iterator[None]:
    """After every test of the module, the tables and the sequence are as created."""
    connection = _connect(postgresql_server)
    query = (
        f"SELECT (SELECT array_agg(t ORDER BY a)::text FROM {schema}.t t), "
        f"(SELECT array_agg(b ORDER BY b)::text FROM {schema}.u), "
        f"(SELECT last_value || ' ' || is_called FROM {schema}.s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        before = cursor.fetchall()
    yield
    with connection.cursor() as cursor:
        cursor.execute(query)
        assert cursor.fetchall() == before
    connection.close()


def _passes_on_the_server(session: Session, sql: str) -> None:
    """What the guard let through: the server does not refuse it as a write, in either
    reading of its strings, and it leaves nothing behind."""
    for standard_strings in (True, False):
        code, xid = session.read_only(sql, standard_strings)
        assert code != _READ_ONLY_REFUSAL, f"PostgreSQL refused {sql!r} as a write"
        assert xid is None, f"{sql!r} assigned a transaction id: it wrote"
        assert session.state() == session.baseline, sql


@pytest.mark.parametrize("query", READS)
def test_every_read_changes_nothing(session, query):
    assert is_read_only(query, dialect="postgresql")
    code, _ = session.read_only(query)
    assert code is None, f"{query!r} failed with {code}: the table should hold real reads"
    _passes_on_the_server(session, query)


@pytest.mark.parametrize("command", SESSION_SETS)
def test_every_session_set_changes_only_the_session(session, command):
    """A SET an init_command may hold runs in a read-only transaction (PostgreSQL would
    refuse it with 25006 if it wrote) and sets nothing beyond the session."""
    check_init_command(command, allow_writes=False, dialect="postgresql")
    assert session.read_only(command) == (None, None)
    session.reset()


@pytest.mark.parametrize("write", [w for w in WRITES if w not in ("BEGIN", "COMMIT")])
def test_the_writes_are_refused_and_many_run_in_a_read_only_transaction(session, write):
    """The guard refuses every write of the table; PostgreSQL's read-only transaction
    refuses only some (25006), and lets LOCK, ANALYZE, COPY ... TO PROGRAM, DO, NOTIFY,
    LISTEN, SET, PREPARE run (see the test below): the guard is not redundant."""
    assert not is_read_only(write, dialect="postgresql")
    try:
        session.read_only(write)
    finally:
        session.reset()


#: what PostgreSQL 15 lets run in BEGIN READ ONLY, and what shows its effect: a transaction
#: id assigned (it wrote), the session's state changed, or nothing to see but that it ran
_READ_ONLY_ALLOWS = (
    ("LOCK TABLE t", "xid"),
    ("ANALYZE u", "xid"),
    ("SELECT txid_current()", "xid"),
    ("SELECT lo_unlink(lo_create(0))", "xid"),
    # a program that reads what it is sent: 'true' exits at once, and the server's write
    # to its pipe then fails (XX000, "could not write to COPY program") when it loses the race
    ("COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'", "ran"),
    ("SELECT pg_notify('guard_channel', 'x')", "ran"),
    ("LISTEN guard_channel", "state"),
    ("PREPARE guard_p AS SELECT 1", "state"),
    ("SELECT pg_advisory_lock(4243)", "state"),
)


@pytest.mark.parametrize(("sql", "shows"), _READ_ONLY_ALLOWS)
def test_what_a_read_only_transaction_lets_run_the_guard_refuses(session, sql, shows):
    assert not is_read_only(sql, dialect="postgresql")
    try:
        code, xid = session.read_only(sql)
        assert code is None, f"{sql!r} failed with {code} in a read-only transaction"
        if shows == "xid":
            assert xid is not None, sql
        elif shows == "state":
            assert session.state() != session.baseline, sql
    finally:
        session.reset()


#: the pieces random texts are made of: SQL's quotes, comments and separators, and words
#: and calls that write
_PIECES = (
    "SELECT", " 1", " a", " FROM t", " ", "\n", "\r", ",", "(", ")", ";", "'", "''", '"',
    "$$", "$a$", "E'", "U&'", "\\", "/*", "*/", "--", " nextval('s')", " FOR UPDATE",
    " INTO x", " DELETE FROM t", " pg_advisory_lock(7)", " set_config('work_mem','1MB',false)",
    " WHERE", " note", " = ", "x", "1$a$",
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.sampled_from(READS).flatmap(disguised),
        changes().flatmap(disguised),
        st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
    )
)
def test_what_the_guard_lets_through_changes_nothing(session, text):
    if is_read_only(text, dialect="postgresql"):
        _passes_on_the_server(session, text)


#: what a mutation inserts into a read: each changes something wherever the server reads
#: it as code (25006 in a read-only transaction, a lock or a setting left behind)
_INSERTS = (
    ", nextval('s')", " FOR UPDATE", "; DELETE FROM t", " INTO guard_x", "; SELECT 1 FOR SHARE",
    ", pg_advisory_lock(4244)", ", set_config('work_mem', '1MB', false)", "\rDELETE FROM t",
    "\n; UPDATE t SET a = a", "*/ , nextval('s') /*", "' , nextval('s') --", "$$, nextval('s')",
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(READS), st.sampled_from(_INSERTS), st.integers(0, 200))
def test_a_read_mutated_where_the_server_reads_code_is_refused(session, read, insert, at):
    """Whatever the guard accepts, with a write inserted anywhere (the server is the judge
    of whether that place is code): if the guard still accepts it, the server shows it
    changes nothing, so the insertion landed in a literal, a comment or a name."""
    at = min(at, len(read))
    mutated = read[:at] + insert + read[at:]
    if is_read_only(mutated, dialect="postgresql"):
        _passes_on_the_server(session, mutated)


@contextlib.contextmanager
def _read_only_transaction(session: Session) -> Iterator[None]:
    session.run("BEGIN READ ONLY")
    try:
        yield
    finally:
        session.run("COMMIT")


def test_an_advisory_lock_is_taken_in_a_read_only_transaction(session):
    sql = "SELECT pg_advisory_lock(4242)"
    assert not is_read_only(sql, dialect="postgresql")
    with _read_only_transaction(session):
        session.run(sql)
    try:
        locks = session.state()[0]
        assert locks and locks != session.baseline[0]
    finally:
        session.reset()


def test_set_config_turns_the_read_only_default_off_in_a_read_only_transaction(session):
    sql = "SELECT set_config('default_transaction_read_only', 'off', false)"
    with pytest.raises(ConfigError, match="SET_CONFIG"):
        check_init_command(sql, allow_writes=False, dialect="postgresql")
    session.run("SET default_transaction_read_only = on")
    try:
        with _read_only_transaction(session):
            session.run(sql)
        assert session.run("SHOW default_transaction_read_only") == [("off",)]
    finally:
        session.reset()


def test_pg_terminate_backend_ends_another_session_from_a_read_only_transaction(session):
    victim = _connect(session.server)
    try:
        with victim.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        sql = f"SELECT pg_terminate_backend({pid}, 5000)"
        assert not is_read_only(sql, dialect="postgresql")
        with _read_only_transaction(session):
            assert session.run(sql) == [(True,)]
        with pytest.raises(psycopg2.Error), victim.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        victim.close()


def test_the_server_refuses_what_the_guard_refuses_on_the_text(session):
    """Writes the read-only transaction stops too: the guard's refusal agrees with the
    server's (nextval, SELECT ... INTO, a data-modifying CTE, FOR UPDATE)."""
    for sql in (
        "SELECT nextval('s')",
        "SELECT a INTO guard_into FROM t",
        "WITH d AS (DELETE FROM t RETURNING a) SELECT * FROM d",
        "SELECT * FROM t FOR UPDATE",
        "SELECT 1 /* /* */ */; DELETE FROM t",
    ):
        assert not is_read_only(sql, dialect="postgresql"), sql
        assert session.read_only(sql) == (_READ_ONLY_REFUSAL, None), sql


@pytest.mark.parametrize(
    ("sql", "guard_reads", "server"),
    [
        # "--" ends at a carriage return: what follows is code
        ("SELECT 1 -- x\r, nextval('s')", False, _READ_ONLY_REFUSAL),
        # a U&"" name's escapes are decoded: this is nextval
        ("SELECT U&\"\\006Eextval\"('s')", False, _READ_ONLY_REFUSAL),
        # comments nest: nothing is left to run (the server answers an empty query, which
        # psycopg2 raises without a SQLSTATE)
        ("/* /* */ SELECT 1 */", True, "?"),
        # a tag may be any letter beyond ASCII; a name holds "$" (and any such letter)
        ("SELECT $€$ ' $€$, 1", True, None),
        ("SELECT 1 AS €$a$, 2 AS €$a$", True, None),
        ("SELECT 1 AS a$b$", True, None),
        # after a number "$a$" begins a dollar quote (a syntax error here): one of the
        # readings _AMBIGUOUS leaves to the whole-text check
        ("SELECT 1$a$x$a$", True, "42601"),
        # an E'' literal continued on the next line keeps its backslash escapes
        ("SELECT E'a'\n'\\''", True, None),
    ],
)
def test_the_scanner_reads_as_postgresql_does(session, sql, guard_reads, server):
    assert is_read_only(sql, dialect="postgresql") is guard_reads
    assert session.read_only(sql)[0] == server
