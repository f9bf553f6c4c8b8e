"""Option files are read exactly as the MySQL client reads them: each case is read by dbbench
and by MariaDB's own ``my_print_defaults`` (the reader the ``mariadb`` client shares), and
the two must print the same bytes; the names as the ``mariadb`` client takes them are
checked against what ``mariadb --help`` says it would use; what the client would block on
or read for ever is refused at once, through the real command line.

No server is needed: the reference is MariaDB's client binaries, installed with the server
the other tests start (``scripts/ensure-mariadb``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbbench.config.credentials import OPTION_GROUPS, read_option_file, read_options
from dbbench.errors import ConfigError
from tests.integration.conftest import clean_environment, run_dbbench


def _binary(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed (it comes with mariadb-server: scripts/ensure-mariadb)"
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files for the cases to include: ``@T@`` in a case is this directory."""
    root = tmp_path_factory.mktemp("includes")
    files = {
        "good.cnf": b"[client]\nuser=included\n",
        "grp.cnf": b"[mysqld]\nuser=server-side\n",
        "err.cnf": b"[client]\nuser=before-the-error\n[bad\nuser=after-the-error\n",
        "nogroup.cnf": b"password=no-group\n",
        "ww.cnf": b"[client]\npassword=world-writable\n",
        "self.cnf": b"[client]\npassword=again\n!include @T@/self.cnf\n",
        "noeol.cnf": b"[client]\npassword=no-newline",
        "d/b.cnf": b"[client]\npassword=b\n",
        "d/a.cnf": b"[client]\npassword=a\n",
        "d/Z.cnf": b"[client]\npassword=Z\n",
        "d/.h.cnf": b"[client]\npassword=hidden\n",
        "d/c.ini": b"[client]\npassword=ini\n",
        "d/d.CNF": b"[client]\npassword=upper\n",
        "d/e.cnf.bak": b"[client]\npassword=bak\n",
        "d/sub/s.cnf": b"[client]\npassword=sub\n",
        "home/h.cnf": b"[client]\nuser=from-home\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.replace(b"@T@", os.fsencode(root)))
        path.chmod(0o600)
    (root / "ww.cnf").chmod(0o646)
    (root / "d" / "x.cnf").mkdir()  # a directory named like a file: nothing in it is read
    return root


def _environment(tree: Path) -> dict[str, str]:
    return {"HOME": str(tree / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def my_print_defaults(path: Path, tree: Path) -> tuple[bool, bytes, bool]:
    """(refused, what it prints, whether it warned) for the groups dbbench reads."""
    result = subprocess.run(
        [_binary("my_print_defaults"), f"--defaults-file={path}", *OPTION_GROUPS],
        capture_output=True, cwd=tree, env=_environment(tree), timeout=30, check=False,
    )  # fmt: skip
    refused = result.returncode != 0
    return refused, b"" if refused else result.stdout, bool(result.stderr)


def dbbench_reads(path: Path, tree: Path) -> tuple[bool, bytes, bool]:
    """The same for dbbench's reader: ``read_options`` prints each option as
    ``my_print_defaults`` does."""
    cwd = os.getcwd()
    os.chdir(tree)  # a relative !include is from the working directory, for both
    try:
        options, warnings = read_options(path, home=str(tree / "home"))
    except ConfigError:
        return True, b"", True
    finally:
        os.chdir(cwd)
    return False, b"".join(option.printed + b"\n" for option in options), bool(warnings)


def _compare(data: bytes, tree: Path, name: str = "case.cnf") -> None:
    path = tree / name
    path.write_bytes(data.replace(b"@T@", os.fsencode(tree)))
    path.chmod(0o600)
    theirs, ours = my_print_defaults(path, tree), dbbench_reads(path, tree)
    assert ours == theirs, f"{data!r}: my_print_defaults {theirs}, dbbench {ours}"


#: (id, file): each read by both; @T@ is the directory of files to include
CASES = [
    # quotes: taken off only when the value starts and ends with the same one
    ("double quotes", b'[client]\npassword = "p w"\n'),
    ("single quotes", b"[client]\npassword = 'p w'\n"),
    ("text after the closing quote", b'[client]\npassword = "abc" def\n'),
    ("an unclosed quote", b'[client]\npassword = "a#b\n'),
    ("a lone quote", b'[client]\npassword="\n'),
    ("empty quotes", b'[client]\npassword=""\n'),
    ("three quotes", b"[client]\npassword= ''' \n"),
    ("doubled quote inside", b"[client]\npassword = 'it''s'\n"),
    ("other quote inside", b"[client]\npassword = \"x'\n"),
    ("two quoted words", b"[client]\npassword='x' 'y'\n"),
    # comments: # outside quotes, wherever it is; ; only at the start of a line
    ("a comment after the value", b"[client]\npassword = a#b\n"),
    ("a comment after quotes", b"[client]\npassword = 'abc'#x\n"),
    ("# inside quotes", b'[client]\npassword = "a # b" # c\n'),
    ("# in the name", b"[client]\npass#word = a\n"),
    ("a quote in the name hides #", b"[client]\n'pass#'word=x\n"),
    ("; after the value", b"[client]\npassword = a;b\n"),
    ("comment lines", b"[client]\n;comment\n  # comment\npassword=x\n"),
    ("two comments", b"[client]\npassword = x # c # d\n"),
    ("a quote in the comment", b'[client]\npassword = "x" # c"d\n'),
    # escapes, quoted or not; any other keeps its backslash
    ("escapes", b"[client]\npassword = a\\x\\sb\\tc\\nd\\re\\bf\n"),
    ("escaped quote in quotes", b'[client]\npassword = "a\\"b" # c\n'),
    ("escaped quote that ends the value", b"[client]\npassword = 'x\\'\n"),
    ("escaped quote hides #", b"[client]\npassword = 'x\\' # y'\n"),
    ("a backslash at the end", b"[client]\npassword = a\\\n"),
    ("a lone backslash", b"[client]\npassword=\\\n"),
    ("two backslashes", b"[client]\npassword=\\\\\n"),
    ("a backslash in quotes", b"[client]\npassword='\\'\n"),
    ("escaped quote bare", b'[client]\npassword=a\\"\n'),
    # white space: latin-1's, 0xA0 among it (the last byte of UTF-8's à)
    ("spaces around", b"  [client]\n  password  =  x y  \n"),
    ("tabs", b"[client]\npassword\t=\tx\n"),
    ("CRLF", b"[client]\r\npassword = x \r\n"),
    ("form feed first", b"[client]\n\x0cpassword=x\n"),
    ("vertical tab and form feed last", b"[client]\npassword=a\x0b\x0c\n"),
    ("NBSP last", b"[client]\npassword=a\xa0\n"),
    ("NBSP first", b"[client]\npassword=\xa0a\n"),
    ("UTF-8 a-grave last, unquoted", "[client]\npassword=voilà\n".encode()),
    ("UTF-8 a-grave last, quoted", "[client]\npassword='voilà'\n".encode()),
    ("0x85 is not white space", b"[client]\npassword=a\x85\n"),
    ("UTF-8", "[client]\npassword = pässwörd€😀\n".encode()),
    ("latin-1", b"[client]\npassword = p\xe4ssw\xf6rd\n"),
    ("a NUL ends the line", b"[client]\npassword=a\x00b\nuser=u\n"),
    ("no newline at the end", b"[client]\npassword=x"),
    # names and values
    ("no value", b"[client]\npassword\n"),
    ("an empty value", b"[client]\npassword=\n"),
    ("= in the value", b"[client]\npassword==x\n"),
    ("a space in the name", b"[client]\npass word = x\n"),
    ("no name", b"[client]\n=x\n"),
    ("no name, indented", b"[client]\n =x\nuser=u\n"),
    ("no name, indented, last line", b"[client]\n\t= y"),
    ("repeated", b"[client]\npassword=a\npassword=b\n"),
    ("names kept as written", b"[client]\nPassword=x\nloose_password=y\n"),
    # long lines: read 4094 bytes at a time
    ("a line of 4094 bytes", b"[client]\npassword=" + b"x" * 4085 + b"\nuser=u\n"),
    ("a line of 4095 bytes", b"[client]\npassword=" + b"x" * 4086 + b"\nuser=u\n"),
    ("a line of 9000 bytes", b"[client]\npassword=" + b"x" * 9000 + b"\n"),
    ("a group in a long line", b"[client]\npassword=" + b"x" * 4085 + b"[mysqld]\nuser=u\n"),
    # groups
    ("groups in any case", b"[CLIENT]\npassword=x\n"),
    ("trailing space in the group", b"[client ]\npassword=x\n"),
    ("leading space in the group", b"[ client]\npassword=x\n"),
    ("text after the group", b"[client] # c\nuser=a\n[client]x\npassword=x\n"),
    ("a second ]", b"[client]]\npassword=x\n"),
    ("an empty group", b"[]\npassword=x\n"),
    ("other groups", b"[mysqld]\npassword=x\n[mysql]\nuser=y\n[client-server]\nsocket=/s\n"),
    ("client-mariadb", b"[client-mariadb]\nuser=m\n[client]\nuser=c\n"),
    ("no group", b"password=x\n[client]\n"),
    ("a byte order mark", b"\xef\xbb\xbf[client]\npassword=x\n"),
    ("a byte order mark in a name", b"[client]\n\xef\xbb\xbfpassword=x\n"),
    ("no ]", b"[client\npassword=x\n"),
    ("no ] after options", b"[client]\nuser=x\n[bad\n"),
    ("empty", b""),
    ("comments only", b"# x\n\n"),
    # !include and !includedir
    ("include", b"[client]\n!include @T@/good.cnf\npassword=p\n"),
    ("include, tab", b"[client]\n!include\t@T@/good.cnf\n"),
    ("include, spaced", b"[client]\n  !  include   @T@/good.cnf   \n"),
    ("include, CRLF", b"[client]\r\n!include @T@/good.cnf\r\n"),
    ("include, # is part of the path", b"[client]\n!include @T@/good.cnf # c\n"),
    ("include, last line without newline", b"[client]\n!include @T@/good.cnfx"),
    ("include, relative", b"[client]\n!include good.cnf\n"),
    ("include, quoted", b"[client]\n!include 'good.cnf'\n"),
    ("include, home", b"[client]\n!include ~/h.cnf\n"),
    ("include, missing", b"[client]\n!include /nonexistent.cnf\npassword=x\n"),
    ("include, a directory", b"[client]\n!include @T@/d\npassword=x\n"),
    ("include, nothing named", b"[client]\n!include\npassword=x\n"),
    ("include, upper case", b"[client]\n!INCLUDE @T@/good.cnf\n"),
    ("include, other word", b"[client]\n!includex @T@/good.cnf\n!bogus\n"),
    ("include, group goes on after", b"[client]\n!include @T@/grp.cnf\npassword=after\n"),
    ("include, an error in it", b"[client]\n!include @T@/err.cnf\npassword=after\n"),
    ("include, no group in it", b"[client]\n!include @T@/nogroup.cnf\npassword=after\n"),
    ("include, world-writable", b"[client]\n!include @T@/ww.cnf\n"),
    ("include, itself", b"[client]\n!include @T@/self.cnf\n"),
    ("include, no newline in it", b"[client]\n!include @T@/noeol.cnf\nuser=u\n"),
    ("include, three times", b"[client]\n" + b"!include @T@/good.cnf\n" * 3),
    ("includedir", b"[client]\npassword=first\n!includedir @T@/d\n"),
    ("includedir, slash", b"[client]\n!includedir\t@T@/d/\n"),
    ("includedir, relative", b"[client]\n!includedir d\n"),
    ("includedir, missing", b"[client]\n!includedir /nonexistent\npassword=x\n"),
    ("includedir, # is part of it", b"[client]\n!includedir @T@/d # c\n"),
    ("includedir, last line", b"[client]\n!includedir @T@/dx"),
]


@pytest.mark.parametrize("data", [case for _, case in CASES], ids=[name for name, _ in CASES])
def test_options_are_read_as_my_print_defaults_reads_them(data, tree):
    _compare(data, tree)


PIECES = [
    b"a", b"Z", b"0", b" ", b"\t", b"\xa0", b"\xc3", b"\xa9", b"\xe2\x82\xac", b"'", b'"',
    b"\\", b"#", b";", b"=", b"[", b"]", b"!", b"\r", b"\x00", b"\x0b", b"\\n", b"\\s",
    b"\\'", b'\\"', b"\\\\", b"\\x", b"client", b"password", b"loose-", b"include ",
    b"@T@/good.cnf", b"includedir ", b"@T@/d",
]  # fmt: skip
_text = st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join)
_line = st.one_of(
    _text,
    _text.map(lambda text: b"password" + text),
    _text.map(lambda text: b"password =" + text),
    st.sampled_from([b"[client]", b" [CLIENT ]", b"[mysqld]", b"[client-server]", b"[client"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    lines=st.lists(_line, max_size=10),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    grouped=st.booleans(),
    ended=st.booleans(),
)
def test_any_file_is_read_as_my_print_defaults_reads_it(lines, newline, grouped, ended, tree):
    data = (b"[client]" + newline if grouped else b"") + newline.join(lines)
    _compare(data + (newline if ended else b""), tree, "fuzzed.cnf")


def mariadb_would_use(path: Path) -> dict[str, str]:
    """user, host, port and socket as ``mariadb --help`` lists them once it read ``path``."""
    result = subprocess.run(
        [_binary("mariadb"), f"--defaults-file={path}", "--help"],
        capture_output=True, text=True, timeout=30, check=False, env=clean_environment(),
    )  # fmt: skip
    unset = {"user": "(No default value)", "host": "(No default value)",
             "socket": "(No default value)", "port": "0"}  # fmt: skip
    found = {}
    for line in result.stdout.splitlines():
        name = line[:34].strip()
        if name in unset and line[34:] != unset[name]:
            found["unix_socket" if name == "socket" else name] = line[34:]
    return found


#: the names the mariadb client takes; each line under [client]
NAMES = [
    "user=alice", "User=alice", "USER=alice", "us=alice", "use=alice", "loose-user=alice",
    "loose_user=alice", "LOOSE-USER=alice", "loose-loose-user=alice", "loose-us=alice",
    "host=h1", "ho=h1", "hos=h1", "Host=h1", "port=3307", "po=3307", "por=3307",
    "loose_port=3307", "port= 12 ", "socket=/s", "so=/s", "sock=/s", "SOCKET=/s",
    "user=a\nuser=b", "user=a\n[mysqld]\nuser=x", "[client-server]\nuser=cs",
    "[client-mariadb]\nuser=cm\n[client]\nuser=c", "user=a\nloose-userx=b",
    "user = 'quoted user'", 'host = "h # x" # c', "user=ü", "user=\\sa\\s",
]  # fmt: skip


@pytest.mark.parametrize("lines", NAMES)
def test_names_are_taken_as_the_mariadb_client_takes_them(lines, tmp_path):
    path = tmp_path / "names.cnf"
    path.write_text(f"[client]\n{lines}\n")
    path.chmod(0o600)
    assert read_option_file(path).values == mariadb_would_use(path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a socket's path is short: bound by a relative one
    try:
        server.bind(path.name)
    finally:
        os.chdir(cwd)
    return server


#: (id, what ~/.my.cnf is or includes, what the one line says): refused at once, never
#: opened to block (a FIFO) or read for ever (/dev/zero)
REFUSED = [
    ("a FIFO", lambda home: _fifo(home / ".my.cnf"), "is a FIFO (named pipe), not a regular file"),
    ("/dev/zero", lambda home: (home / ".my.cnf").symlink_to("/dev/zero"),
     "is a character device, not a regular file"),
    ("a socket", lambda home: _socket(home / ".my.cnf"), "is a socket, not a regular file"),
    ("too large", lambda home: (home / ".my.cnf").write_bytes(b"[client]\n" + b"#" * 2**21),
     "dbbench reads at most 1 MiB from an option file"),
    ("an included FIFO", lambda home: (_fifo(home / "f.cnf"),
     (home / ".my.cnf").write_text(f"[client]\n!include {home}/f.cnf\n")),
     "f.cnf: is a FIFO (named pipe), not a regular file"),
    ("/dev/zero included", lambda home: (home / ".my.cnf").write_text(
     "[client]\n!include /dev/zero\n"), "/dev/zero: is a character device"),
    ("a FIFO in an included directory", lambda home: ((home / "d").mkdir(), _fifo(home / "d" /
     "x.cnf"), (home / ".my.cnf").write_text(f"[client]\n!includedir {home}/d\n")),
     "x.cnf: is a FIFO (named pipe), not a regular file"),
    ("included files too large together", lambda home: ((home / "big.cnf").write_bytes(
     b"[client]\n" + b"#" * 2**19), (home / ".my.cnf").write_text(
     f"[client]\n!include {home}/big.cnf\n!include {home}/big.cnf\n!include {home}/big.cnf\n")),
     "the option file and the files it includes come to more than 1 MiB"),
    ("a directory including itself", lambda home: ((home / "d").mkdir(), *(
     (home / "d" / f"{n}.cnf").write_text(f"[client]\n!includedir {home}/d\n")
     for n in range(5)), (home / ".my.cnf").write_text(f"[client]\n!includedir {home}/d\n")),
     "more than 100 files through !include and !includedir"),
    ("no group", lambda home: (home / ".my.cnf").write_text("password = x\n"),
     "line 1: an option before any [group]"),
    ("a byte order mark", lambda home: (home / ".my.cnf").write_bytes(
     b"\xef\xbb\xbf[client]\n"), "(a UTF-8 byte order mark?)"),
    ("no ]", lambda home: (home / ".my.cnf").write_text("[client\nuser=x\n"),
     "line 1: a [ with no ]"),
    ("an !includedir that is not there", lambda home: (home / ".my.cnf").write_text(
     "[client]\n!includedir /nonexistent\n"), "!includedir /nonexistent: cannot list it"),
    ("a user that is not UTF-8", lambda home: (home / ".my.cnf").write_bytes(
     b"[client]\nuser = \xe4\n"), "line 2: [client] user: not UTF-8 text"),
    ("a bad port", lambda home: (home / ".my.cnf").write_text("[client]\nport = 3306K\n"),
     "line 2: [client] port = '3306K': must be a whole number"),
]  # fmt: skip

#: (id, ~/.my.cnf, what the warning says): read on, as the client reads on
WARNED = [
    ("world-writable", "[client]\nuser = x\n", 0o666, "is writable by every user and is ignored"),
    ("a prefix", "[client]\npas = x\n", 0o600, "line 2: [client] pas is taken for password"),
    ("an error in an included file", "[client]\n!include {home}/e.cnf\n", 0o600,
     "e.cnf line 1: an option before any [group]"),
    ("skip-user", "[client]\nskip-user\n", 0o600, "line 2: [client] skip-user is ignored"),
    ("maximum-password", "[client]\nmaximum-password = x\n", 0o600,
     "[client] maximum-password is ignored"),
    ("readable password", "[client]\npassword = x\n", 0o644, "other users may read it"),
]  # fmt: skip


def _dbbench(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_environment() | {"HOME": str(home), "DBBENCH_PORT": "1"}  # nothing answers
    return run_dbbench(*args, env=env, timeout_s=60, cwd=home)


#: every command that connects reads ~/.my.cnf: each is given the first three cases
COMMANDS = ["run", "compare", "stale", "explain", "calibrate"]


@pytest.mark.parametrize(
    ("make", "says", "command"),
    [(*case[1:], "run") for case in REFUSED]
    + [(*case[1:], command) for case in REFUSED[:3] for command in COMMANDS[1:]],
    ids=[f"run, {case[0]}" for case in REFUSED]
    + [f"{command}, {case[0]}" for case in REFUSED[:3] for command in COMMANDS[1:]],
)
def test_an_option_file_dbbench_will_not_read_is_refused_at_once(make, says, command, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    kept = make(home)
    try:
        result = _dbbench(home, command)
    finally:
        if isinstance(kept, socket.socket):
            kept.close()
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("dbbench: error: ") and says in line, line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "mode", "says"), [case[1:] for case in WARNED],
                         ids=[case[0] for case in WARNED])  # fmt: skip
def test_what_the_client_reads_past_is_warned_about(text, mode, says, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "e.cnf").write_text("user = no-group\n")
    (home / ".my.cnf").write_text(text.format(home=home))
    (home / ".my.cnf").chmod(mode)
    result = _dbbench(home, "run", "-n", "5")
    assert result.returncode == 1 and "cannot connect" in result.stderr, result.stderr
    warnings = " ".join(result.stderr.split()).split("dbbench: ")  # lines wrapped as printed
    assert any(line.startswith("warning:") and says in line for line in warnings), result.stderr
