"""A connection URL (``[database] url``, ``DBBENCH_URL``, ``--url``) -> the ``[database]``
keys it stands for.

The URL is SQLAlchemy's, as Python users already write it for ``create_engine``:
``dialect[+driver]://user:password@host:port/database?query``, e.g.
``postgresql://app@db.internal:5432/shop`` or ``mysql+mysqldb://root@127.0.0.1/test``.  It
is read by ``sqlalchemy.engine.make_url``, not by a parser of dbbench's own: SQLAlchemy is
a dependency already, its parser is the one the user's application runs (so a URL that
works there means the same here), and it has been kept right for years on the cases a
hand-written one gets wrong: percent-decoding of the user, password and database (every
character: ``@:/?#%[]``, a space, any UTF-8), an IPv6 host in brackets, a query whose key
is given twice.  Only what SQLAlchemy leaves to the dialect is done here: the dialect and
driver names, and the socket in the query.

What a URL sets, each as the key of the same name would: ``dialect`` (``postgresql``,
``postgres``: postgresql; ``mysql``, ``mariadb``: mysql), ``driver`` (after the ``+``:
``psycopg``, ``psycopg2``; ``pymysql``, ``mysqldb`` -> mysqlclient, ``mysqlconnector`` ->
mysql-connector), ``user``, ``password``, ``host``, ``port``, ``database``, and
``unix_socket``: MySQL's ``?unix_socket=/path``, PostgreSQL's ``?host=/dir`` (libpq's
socket directory, also as the host itself: ``postgresql://%2Fvar%2Frun%2Fpostgresql/db``).
A part the URL leaves out is not set by it.  Any other query key is refused: its meaning
belongs to one driver, and dbbench's own keys say it for all of them.

The password is never shown: ``masked`` is the text for messages, SQLAlchemy's
``render_as_string(hide_password=True)`` where the URL reads, else with everything before
its last ``@`` and the query hidden.  Where a URL may come from (not the command line when
it holds a password) and its precedence against the separate keys: ``settings``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: a URL's database name -> dbbench's dialect
SCHEMES: dict[str, str] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",  # libpq's and Heroku's spelling; SQLAlchemy 1.4 dropped it
    "mysql": "mysql",
    "mariadb": "mysql",
}
#: (dialect, a URL's driver name) -> dbbench's driver (``[database] driver``)
URL_DRIVERS: dict[tuple[str, str], str] = {
    ("postgresql", "psycopg"): "psycopg",
    ("postgresql", "psycopg2"): "psycopg2",
    ("mysql", "pymysql"): "pymysql",
    ("mysql", "mysqldb"): "mysqlclient",
    ("mysql", "mysqlconnector"): "mysql-connector",
}
#: dialect -> the query key that names the Unix socket (libpq's host: its directory)
SOCKET_KEYS: dict[str, str] = {"mysql": "unix_socket", "postgresql": "host"}

#: the form, for messages
FORM = "dialect[+driver]://user:password@host:port/database"

#: dialect -> (its servers, with their verb; the unit they count a name in; part -> the
#: longest they take):
#: PostgreSQL's NAMEDATALEN - 1 bytes; MySQL's 64 characters of a database name, MariaDB's
#: 80 of a user name (MySQL's: 32)
LONGEST_NAMES: dict[str, tuple[str, str, dict[str, int]]] = {
    "postgresql": ("PostgreSQL takes", "bytes", {"database": 63, "user": 63}),
    "mysql": ("MySQL and MariaDB", "characters", {"database": 64, "user": 80}),
}


def known_schemes() -> str:
    """Every scheme a URL may start with, for a message: ``postgresql://, postgres://, ...
    or, with a driver, postgresql+psycopg://, ...``."""
    names = [f"{name}://" for name in SCHEMES]
    drivers = [f"{dialect}+{driver}://" for dialect, driver in URL_DRIVERS]
    return f"{', '.join(names)} or, with a driver, {', '.join(drivers)}"


@dataclass(frozen=True)
class DatabaseUrl:
    """A URL read: the ``[database]`` keys it sets (``parts``: key -> value, as the key's
    check takes it) and its text for messages (``masked``)."""

    parts: Mapping[str, Any]
    masked: str

    def __repr__(self) -> str:  # never the password, in a traceback or a log
        return f"DatabaseUrl({self.masked!r})"

    @property
    def has_password(self) -> bool:
        return bool(self.parts.get("password"))


def masked(text: str) -> str:
    """``text``, a URL or not, with no password in it: ``postgresql://app:***@h/db``."""
    url = _parsed(text)
    if url is not None:
        # the query as given, but for the socket's values hidden too (?password=...)
        query = "&".join(
            f"{key}={value if key in SOCKET_KEYS.values() else '***'}"
            for key, values in url.query.items()
            for value in (values if isinstance(values, tuple) else (values,))
        )
        shown = url.set(query={}).render_as_string(hide_password=True)
        return f"{shown}?{query}" if query else shown
    scheme, separator, rest = text.partition("://")
    if not separator:
        return "***" if "@" in text else text
    rest = rest.partition("?")[0] + ("?***" if "?" in rest else "")
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return f"{scheme}://{rest}"


#: the longest a URL is echoed in a message: a longer one by its start and its length
ECHOED = 120


def echoed(text: str) -> str:
    """``text`` as a message echoes it: ``masked``, and a long one cut to its start."""
    hidden = masked(text)
    if len(hidden) <= ECHOED:
        return hidden
    return f"{hidden[:80]}… ({len(hidden)} characters)"


def _parsed(text: str) -> Any:
    """SQLAlchemy's ``URL`` of ``text``, or None where it does not read as one whose parts
    can be shown (a password's ``@`` not percent-encoded leaves it in the host)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        return None
    if "@" in (url.host or ""):
        return None
    return url


def parse_url(value: Any) -> DatabaseUrl:
    """``[database] url``'s check: the URL read into the keys it sets; ``ValueError`` with
    what is wrong, never the password (the message's echo is ``masked``)."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    # imported here: SQLAlchemy takes a while to import, and --help needs none of it
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = value.strip()
    if not text:
        raise ValueError(f"must not be empty; give {FORM}")
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError(f"is not a URL; give {FORM}") from None
    except ValueError:  # int() of the port
        raise ValueError("its port must be a whole number") from None
    if "@" in (url.host or ""):
        raise ValueError(
            "has an '@' after the user's: percent-encode one in the password as %40 "
            "(urllib.parse.quote(password, safe=''))"
        )
    name, _, driver = url.drivername.partition("+")
    dialect = SCHEMES.get(name)
    if dialect is None:
        raise ValueError(f"unknown database {name!r}; a URL starts {known_schemes()}")
    parts: dict[str, Any] = {"dialect": dialect}
    if driver:
        if (dialect, driver) not in URL_DRIVERS:
            ours = ", ".join(f"{name}+{d}://" for (of, d) in URL_DRIVERS if of == dialect)
            raise ValueError(f"unknown driver {driver!r}; a {dialect} URL's are {ours}")
        parts["driver"] = URL_DRIVERS[dialect, driver]
    host = urllib.parse.unquote(url.host) if url.host else None
    if host is not None and "," in host:
        raise ValueError("names several hosts; dbbench connects to one")
    if host is not None and host.startswith("/"):
        if dialect != "postgresql":
            raise ValueError("has a path for its host; a MySQL socket is ?unix_socket=/path")
        parts["unix_socket"] = host
    elif host:
        parts["host"] = host
    for key, given in (("port", url.port), ("user", url.username), ("database", url.database)):
        if given not in (None, ""):
            parts[key] = given
    if url.password is not None:
        parts["password"] = url.password
    _check_lengths(parts, dialect)
    _query(parts, dialect, url.query)
    return DatabaseUrl(parts, masked(text))


def _check_lengths(parts: Mapping[str, Any], dialect: str) -> None:
    """A database or user name longer than the dialect's servers take, refused here: the
    server would cut it, or fail the handshake, with no word of which part."""
    servers, unit, longest = LONGEST_NAMES[dialect]
    for key, limit in longest.items():
        value = parts.get(key)
        if value is None:
            continue
        size = len(value.encode()) if unit == "bytes" else len(value)
        if size > limit:
            start = value[:20] + ("…" if len(value) > 20 else "")
            raise ValueError(
                f"its {key} name ({start!r}) is {size} {unit} long: {servers} at most "
                f"{limit}"
            )


def _query(parts: dict[str, Any], dialect: str, query: Mapping[str, Any]) -> None:
    """The socket of ``query`` into ``parts``; any other key refused, its value not shown."""
    key = SOCKET_KEYS[dialect]
    for name, value in query.items():
        if name != key:
            raise ValueError(
                f"has ?{name}=, which dbbench does not read: a {dialect} URL's query may hold "
                f"{key}= only; set the rest with their [database] keys"
            )
        if not isinstance(value, str):
            raise ValueError(f"has ?{name}= twice")
        if not value:
            raise ValueError(f"has ?{name}= with no value")
        if name == "unix_socket" or value.startswith("/"):
            parts["unix_socket"] = value
        elif "host" in parts and parts["host"] != value:
            raise ValueError(f"gives the host twice ({parts['host']!r} and ?host={value!r})")
        else:
            parts["host"] = value
