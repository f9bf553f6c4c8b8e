"""Every mistake a user in a hurry can make, answered by one line: what is wrong, the value,
where it came from, and the documented exit status (2 bad input, 1 cannot run), no traceback.

One table, run through the real ``dbbench`` in a subprocess against the session's server,
from an empty working directory with a temporary HOME (no ~/.my.cnf, no dbbench.toml).
Strings in a case may hold ``{placeholders}`` filled from the ``context`` fixture.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pymysql
import pytest

from tests.integration.conftest import clean_environment, run_dbbench

BAD_INPUT, CANNOT_RUN = 2, 1


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    #: substrings of the one stderr line: what is wrong, the value, where it came from
    expect: tuple[str, ...]
    status: int = BAD_INPUT
    #: dbbench.toml's text, given with --config {config}; None: no settings file
    config: str | None = None
    config_mode: int = 0o600
    #: environment on top of the session server's; None removes a variable
    env: dict[str, str | None] = field(default_factory=dict)
    #: run without the capability that lets root read any file
    as_unprivileged: bool = False


CASES = [
    # --- the settings file
    Case("config-missing", ("run", "--config", "{cwd}/nope.toml"),
         ("{cwd}/nope.toml", "configuration file not found")),
    Case("config-unreadable", ("run", "--config", "{config}"),
         ("'--config'", "'{config}' is not readable"),
         config="[database]\nport = 3306\n", config_mode=0o000, as_unprivileged=True),
    Case("config-empty", ("run", "--config", "{config}"), ("{config}", "is empty"), config=""),
    Case("config-blank", ("run", "--config", "{config}"), ("{config}", "is empty"),
         config="  \n\n"),
    Case("config-directory", ("run", "--config", "{cwd}"), ("{cwd}", "is a directory")),
    Case("config-invalid-toml", ("run", "--config", "{config}"),
         ("{config}", "invalid TOML", "line 2"), config="[database]\nport = = 3\n"),
    Case("config-unknown-section", ("run", "--config", "{config}"),
         ("{config}", "unknown section [databse]", "did you mean 'database'"),
         config="[databse]\nport = 3306\n"),
    Case("config-unknown-key", ("run", "--config", "{config}"),
         ("{config}", "unknown key 'prot' in [database]", "did you mean 'port'"),
         config="[database]\nprot = 3306\n"),
    Case("config-key-outside-section", ("run", "--config", "{config}"),
         ("{config}", "'iterations' is outside any section", "[benchmark]"),
         config="iterations = 5\n"),
    Case("config-wrong-type-int", ("run", "--config", "{config}"),
         ('{config}: [benchmark] iterations = "ten"', "whole number"),
         config='[benchmark]\niterations = "ten"\n'),
    Case("config-wrong-type-bool", ("compare", "--config", "{config}"),
         ('{config}: [pool] pool_pre_ping = "yes"', "true or false"),
         config='[pool]\npool_pre_ping = "yes"\n'),
    Case("config-zero-iterations", ("run", "--config", "{config}"),
         ("{config}: [benchmark] iterations = 0", "at least 1"),
         config="[benchmark]\niterations = 0\n"),
    Case("config-negative-duration", ("run", "--config", "{config}"),
         ('{config}: [benchmark] duration = "-5s"', "greater than 0"),
         config='[benchmark]\nduration = "-5s"\n'),
    Case("config-zero-concurrency", ("run", "--config", "{config}"),
         ("{config}: [benchmark] concurrency = 0", "at least 1"),
         config="[benchmark]\nconcurrency = 0\n"),
    Case("config-negative-pool-size", ("run", "--config", "{config}"),
         ("{config}: [pool] pool_size = -1", "at least 1"), config="[pool]\npool_size = -1\n"),
    Case("config-port-out-of-range", ("run", "--config", "{config}"),
         ("{config}: [database] port = 70000", "at most 65535"),
         config="[database]\nport = 70000\n", env={"DBBENCH_PORT": None}),
    Case("config-empty-query", ("run", "--config", "{config}"),
         ('{config}: [benchmark] query = ""', "must not be empty"),
         config='[benchmark]\nquery = ""\n'),
    # --- command-line flags
    Case("zero-iterations", ("run", "-n", "0"), ("--iterations = '0'", "at least 1")),
    Case("negative-iterations", ("run", "--iterations", "-5"),
         ("--iterations = '-5'", "must be at least 1")),
    Case("zero-duration", ("run", "--duration", "0s"), ("--duration = '0s'", "greater than 0")),
    Case("unparsable-duration", ("run", "--duration", "10 minutes"),
         ("--duration = '10 minutes'", "such as 30s")),
    Case("zero-concurrency", ("run", "-c", "0"), ("--concurrency = '0'", "at least 1")),
    Case("unparsable-concurrency-list", ("compare", "-c", "1,8,x"),
         ("--concurrency = '1,8,x'", "'x' must be a whole number")),
    Case("zero-pool-size", ("compare", "--pool-size", "0"), ("--pool-size = '0'", "at least 1")),
    Case("empty-item-in-list", ("compare", "--pool-size", "1,,5"),
         ("--pool-size = '1,,5'", "item 2 is empty")),
    Case("negative-max-overflow", ("compare", "--max-overflow", "0,-3"),
         ("--max-overflow = '0,-3'", "at least -1")),
    Case("zero-pool-timeout", ("compare", "--pool-timeout", "0"),
         ("--pool-timeout = '0'", "greater than 0")),
    Case("unparsable-rate", ("run", "--rate", "fast"), ("--rate = 'fast'", "such as 500")),
    Case("negative-rate", ("run", "--rate", "-10"), ("--rate = '-10'", "greater than 0")),
    Case("unknown-runner", ("run", "--runner", "raw,pol"),
         ("--runner = 'raw,pol'", "unknown runner 'pol'", "did you mean 'pool'")),
    Case("empty-runner", ("run", "--runner", ""),
         ("--runner = ''", "name at least one of raw, pool")),
    Case("empty-item-in-runner-list", ("run", "--runner", "raw,,pool"),
         ("--runner = 'raw,,pool'", "item 2 is empty")),
    Case("unknown-driver", ("run", "--driver", "pymysql,mysqlclinet"),
         ("--driver = 'pymysql,mysqlclinet'", "unknown driver 'mysqlclinet'",
          "did you mean 'mysqlclient'")),
    Case("empty-driver", ("run", "--driver", ""),
         ("--driver = ''", "name at least one of pymysql")),
    Case("empty-item-in-driver-list", ("run", "--driver", "pymysql,,mysqlclient"),
         ("--driver = 'pymysql,,mysqlclient'", "item 2 is empty")),
    Case("unknown-ssl-mode", ("run", "--ssl-mode", "sometimes"),
         ("--ssl-mode = 'sometimes'", "must be one of disabled, preferred")),
    Case("port-out-of-range", ("run", "--port", "70000"), ("--port = '70000'", "at most 65535")),
    Case("port-not-a-number", ("run", "--port", "abc"),
         ("--port = 'abc'", "must be a whole number")),
    Case("more-processes-than-workers", ("run", "--processes", "3", "-c", "2"),
         ("--processes = '3'", "more than the concurrency (2)")),
    Case("empty-query", ("run", "--query", ""), ("--query = ''", "must not be empty")),
    Case("blank-query", ("run", "--query", "  \n "), ("--query = '  \\n '", "must not be empty")),
    Case("comment-only-query", ("run", "--query", "-- SELECT 1"),
         ("--query = '-- SELECT 1'", "no SQL statement")),
    Case("semicolon-query", ("run", "--query", ";"), ("--query = ';'", "no SQL statement")),
    Case("writing-query", ("run", "--query", "DELETE FROM t"),
         ("--query = 'DELETE FROM t'", "--allow-writes")),
    # refused before connecting: the port is closed, so a connect would fail with exit 1
    Case("executable-comment-query", ("run", "--query", "/*!DELETE FROM t */"),
         ("--query = '/*!DELETE FROM t */'", "may change data", "--allow-writes"),
         env={"DBBENCH_PORT": "{closed_port}"}),
    Case("versioned-executable-comment-query", ("run", "--query", "/*M!100100 DELETE FROM t */"),
         ("--query = '/*M!100100 DELETE FROM t */'", "may change data", "--allow-writes"),
         env={"DBBENCH_PORT": "{closed_port}"}),
    Case("do-query", ("run", "--query", "DO RELEASE_ALL_LOCKS()"),
         ("--query = 'DO RELEASE_ALL_LOCKS()'", "may change data", "--allow-writes"),
         env={"DBBENCH_PORT": "{closed_port}"}),
    Case("query-unknown-first-word", ("run", "--query", "SELEC 1"),
         ("--query = 'SELEC 1'", "does not start with SELECT, SHOW",
          "('SELEC': a typo for SELECT?)", "--allow-writes"),
         env={"DBBENCH_PORT": "{closed_port}"}),
    Case("config-query-unknown-first-word", ("run", "--config", "{config}"),
         ("[benchmark] query = 'SELEC 1'", "a typo for SELECT?", "--allow-writes"),
         config='[benchmark]\nquery = "SELEC 1"\n', env={"DBBENCH_PORT": "{closed_port}"}),
    Case("unknown-format", ("run", "--format", "xml"), ("'--format'", "'xml'")),
    Case("unknown-option", ("run", "--iteratons", "5"),
         ("--iteratons", "Did you mean", "--iterations")),
    Case("unknown-command", ("rnu",), ("No such command 'rnu'",)),
    Case("output-in-missing-directory", ("run", "-o", "{cwd}/no/such/dir/r.json"),
         ("--output = '{cwd}/no/such/dir/r.json'", "no such directory {cwd}/no/such/dir")),
    Case("reserved-save-name", ("run", "--save", "latest"), ("--save = 'latest'",)),
    Case("password-as-a-value", ("run", "--password", "Hunter2-in-argv"),
         ("--password takes no value", "process list")),
    Case("password-prompt-without-terminal", ("run", "--password"),
         ("--password asks for the password on a terminal", "DBBENCH_PASSWORD")),
    Case("stale-unparsable-idle", ("stale", "--idle", "soon"), ("--idle = 'soon'",)),
    Case("stale-zero-wait-timeout", ("stale", "--wait-timeout", "0"),
         ("--wait-timeout = '0'", "at least 1")),
    Case("stale-unknown-protection", ("stale", "--protection", "preping"),
         ("--protection", "'preping'", "did you mean 'pre_ping'")),
    Case("explain-zero-iterations", ("explain", "-n", "0"),
         ("--iterations = '0'", "must be at least 1")),
    Case("explain-unparsable-rtt", ("explain", "--rtt", "far"), ("--rtt = 'far'", "such as 30s")),
    Case("diff-bad-threshold", ("diff", "a", "b", "--fail-on", "p99:lots"),
         ("--fail-on = 'p99:lots'",)),
    # --- the environment
    Case("env-port-not-a-number", ("run",), ("environment variable DBBENCH_PORT", "'abc'"),
         env={"DBBENCH_PORT": "abc"}),
    Case("env-port-zero", ("run",), ("environment variable DBBENCH_PORT = '0'", "at least 1"),
         env={"DBBENCH_PORT": "0"}),
    # --- TLS files (only the settings file sets them), checked before anything connects
    Case("tls-missing-ssl-ca", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "{cwd}/nope-ca.pem"', "no such file"),
         config='[database]\nssl_mode = "verify_ca"\nssl_ca = "{cwd}/nope-ca.pem"\n'),
    Case("tls-missing-ssl-ca-explain", ("explain", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "{cwd}/nope-ca.pem"', "no such file"),
         config='[database]\nssl_mode = "verify_ca"\nssl_ca = "{cwd}/nope-ca.pem"\n'),
    Case("tls-missing-ssl-ca-async-pool", ("run", "--runner", "async-pool", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "{cwd}/nope-ca.pem"', "no such file"),
         config='[database]\nssl_mode = "verify_ca"\nssl_ca = "{cwd}/nope-ca.pem"\n'),
    Case("tls-missing-ssl-ca-mode-by-flag",
         ("run", "--ssl-mode", "verify_identity", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "ca.pem"', "no such file",
          "relative to the working directory {cwd}"),
         config='[database]\nssl_ca = "ca.pem"\n'),
    Case("tls-unreadable-ssl-ca", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "{unreadable_pem}"', "cannot read it (permission denied)"),
         config='[database]\nssl_mode = "verify_ca"\nssl_ca = "{unreadable_pem}"\n',
         as_unprivileged=True),
    Case("tls-garbage-ssl-ca", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_ca = "{garbage_pem}"', "not a PEM certificate"),
         config='[database]\nssl_mode = "verify_ca"\nssl_ca = "{garbage_pem}"\n'),
    Case("tls-missing-ssl-cert", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_cert = "{cwd}/nope-cert.pem"', "no such file"),
         config='[database]\nssl_mode = "required"\nssl_cert = "{cwd}/nope-cert.pem"\n'
                'ssl_key = "{client_key}"\n'),
    Case("tls-missing-ssl-key", ("compare", "--config", "{config}"),
         ('{config}: [database] ssl_key = "{cwd}/nope-key.pem"', "no such file"),
         config='[database]\nssl_mode = "required"\nssl_cert = "{client_cert}"\n'
                'ssl_key = "{cwd}/nope-key.pem"\n'),
    Case("tls-cert-without-its-key", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_cert = "{client_cert}"', "holds no private key"),
         config='[database]\nssl_mode = "required"\nssl_cert = "{client_cert}"\n'),
    Case("tls-key-of-another-cert", ("run", "--config", "{config}"),
         ('{config}: [database] ssl_key = "{other_key}"',
          "not the key of ssl_cert = '{client_cert}'"),
         config='[database]\nssl_mode = "required"\nssl_cert = "{client_cert}"\n'
                'ssl_key = "{other_key}"\n'),
    Case("tls-encrypted-key-for-mysqlclient", ("run", "--config", "{config}", "--driver",
                                               "mysqlclient"),
         ("ssl_key_password: mysqlclient cannot read an encrypted key",),
         config='[database]\nssl_mode = "required"\nssl_cert = "{client_cert}"\n'
                'ssl_key = "{encrypted_key}"\nssl_key_password = "key-pw"\n'),
    # --- could not run: exit 1
    Case("diff-missing-file", ("diff", "{cwd}/base.json", "{cwd}/new.json"),
         ("{cwd}/base.json: no such result file",), status=CANNOT_RUN),
    Case("report-missing-file", ("report", "nothing-saved"),
         ("'nothing-saved'", "no such result file or saved run"), status=CANNOT_RUN),
    Case("connection-refused", ("run",), ("{user}@127.0.0.1:{closed_port}", "connection refused",
                                   "(from environment variable DBBENCH_PORT)"),
         status=CANNOT_RUN, env={"DBBENCH_PORT": "{closed_port}"}),
    Case("unknown-host", ("run", "--host", "no-such-host.invalid"),
         ("unknown host 'no-such-host.invalid' (from --host)",), status=CANNOT_RUN),
    Case("connect-hangs", ("run", "--config", "{config}"),
         ("127.0.0.1:{silent_port}", "no greeting within 1s (connect_timeout)"),
         status=CANNOT_RUN, config="[database]\nport = {silent_port}\nconnect_timeout = 1\n",
         env={"DBBENCH_PORT": None}),
    Case("wrong-password", ("run",),
         ("{login}@", "access denied", "from environment variable DBBENCH_PASSWORD"),
         status=CANNOT_RUN,
         env={"DBBENCH_USER": "{login}", "DBBENCH_PASSWORD": "Wrong-{password}"}),
    Case("no-password", ("run",), ("{login}@", "access denied", "no password was given"),
         status=CANNOT_RUN, env={"DBBENCH_USER": "{login}", "DBBENCH_PASSWORD": None}),
    Case("unknown-database", ("run", "--database", "no_such_db_dbb"),
         ("Unknown database 'no_such_db_dbb'", "(from --database)"), status=CANNOT_RUN),
    Case("database-access-denied", ("run", "--database", "{private_db}"),
         ("{login}@", "Access denied", "'{private_db}'", "grant the user access"),
         status=CANNOT_RUN,
         env={"DBBENCH_USER": "{login}", "DBBENCH_PASSWORD": "{password}"}),
    Case("query-syntax-error", ("run", "--query", "SELECT * FORM dual"),
         ("the query 'SELECT * FORM dual' failed", "(1064)", "--query"), status=CANNOT_RUN),
    Case("query-unknown-table", ("run", "--query", "SELECT * FROM no_such_table"),
         ("no_such_table", "(1146)"), status=CANNOT_RUN),
    Case("query-large-result", ("run", "--query", "SELECT * FROM seq_1_to_5000000"),
         ("'SELECT * FROM seq_1_to_5000000'", "more than 100,000 rows",
          "--allow-large-results")),
    Case("query-large-values", ("run", "--query", "SELECT REPEAT('x', 4000000) FROM seq_1_to_20"),
         ("32 MiB", "--allow-large-results")),
]  # fmt: skip


def test_the_table_is_large_enough():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A listener that accepts connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def login(server) -> Iterator[dict[str, str]]:
    """A user with a password and SELECT on the test database only, and a database it may not
    use."""
    user, password = f"dbb_bad_{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
    private_db = f"dbb_private_{uuid.uuid4().hex[:6]}"
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cursor.execute(f"GRANT SELECT ON `{server.database}`.* TO %s@'%%'", (user,))
        cursor.execute(f"CREATE DATABASE `{private_db}`")
    yield {"login": user, "password": password, "private_db": private_db}
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", (user,))
        cursor.execute(f"DROP DATABASE `{private_db}`")


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory) -> dict[str, str]:
    """A client certificate and its key, another one's key, a file that is not PEM, and a real
    CA certificate nobody may read (mode 000)."""
    from cryptography.hazmat.primitives import serialization

    from dbbench.server.certificates import make_certificates

    directory = tmp_path_factory.mktemp("pem")
    mine, other = make_certificates(directory / "mine"), make_certificates(directory / "other")
    garbage = directory / "garbage.pem"
    garbage.write_text("not a certificate\n")
    encrypted = directory / "encrypted-key.pem"
    encrypted.write_bytes(
        serialization.load_pem_private_key(mine.client_key.read_bytes(), None).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-pw"),
        )
    )
    mine.ca.chmod(0o000)
    return {
        "encrypted_key": str(encrypted),
        "client_cert": str(mine.client_cert),
        "client_key": str(mine.client_key),
        "other_key": str(other.client_key),
        "garbage_pem": str(garbage),
        "unreadable_pem": str(mine.ca),
    }


@pytest.fixture
def context(server, tmp_path, silent_port, login, pem_files) -> dict[str, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    return {
        "cwd": str(tmp_path),
        "config": str(tmp_path / "dbbench.toml"),
        "user": server.user,
        "closed_port": str(closed_port),
        "silent_port": str(silent_port),
        **login,
        **pem_files,
    }


def _drop_file_capabilities() -> None:
    """In the child, before exec: root without CAP_DAC_OVERRIDE/READ_SEARCH obeys file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            os._exit(97)


def run_case(case: Case, server, context: dict[str, str]) -> subprocess.CompletedProcess:
    def fill(text: str) -> str:
        return text.format(**context)

    if case.config is not None:
        config = context["config"]
        with open(config, "w") as out:
            out.write(fill(case.config))
        os.chmod(config, case.config_mode)
    env = server.env() | {"HOME": context["cwd"]}
    for name, value in case.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = fill(value)
    unprivileged = case.as_unprivileged and os.geteuid() == 0
    result = run_dbbench(
        *map(fill, case.args),
        env=env,
        timeout_s=60,
        cwd=context["cwd"],
        start_new_session=True,  # no controlling terminal: what CI has
        preexec_fn=_drop_file_capabilities if unprivileged else None,
    )
    assert result.returncode != 97, "could not drop root's file capabilities for this case"
    return result


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line(case: Case, server, context):
    result = run_case(case, server, context)
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].strip(), result.stderr  # one line, and no blank ones
    (line,) = lines
    assert line.startswith("dbbench: error: "), line
    for expected in case.expect:
        assert expected.format(**context) in line, line
    assert result.returncode == case.status, line
    assert result.stdout == ""
    assert context["password"] not in result.stderr
    assert "Hunter2-in-argv" not in result.stderr


def test_a_server_at_max_connections(local_server, tmp_path):
    """All connections taken (by root, which keeps its extra SUPER slot): one line, exit 1."""
    with local_server(base_dir=tmp_path, extra_args=["--max-connections=10"]) as local:
        address = local.address
        admin = pymysql.connect(
            host=address.host, port=address.port, user=address.user, password=address.password
        )
        with admin.cursor() as cursor:
            cursor.execute("CREATE USER app@'%' IDENTIFIED BY 'app-pw'")
            cursor.execute(f"GRANT SELECT ON `{address.database}`.* TO app@'%'")
        held = [admin]
        try:
            while True:  # up to max_connections, and root's one more
                held.append(
                    pymysql.connect(
                        host=address.host,
                        port=address.port,
                        user=address.user,
                        password=address.password,
                    )
                )
        except pymysql.err.OperationalError as exc:
            assert exc.args[0] == 1040, exc
        try:
            env = clean_environment()
            env |= dataclasses.replace(address, user="app", password="app-pw").environment()
            env["HOME"] = str(tmp_path)
            result = run_dbbench("run", "-n", "5", env=env, timeout_s=60, cwd=tmp_path)
        finally:
            for connection in held:
                connection.close()
    assert result.returncode == CANNOT_RUN, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"app@127.0.0.1:{address.port}" in lines[0]
    assert "no free connections" in lines[0] and "Too many connections" in lines[0]
    assert "app-pw" not in result.stderr
