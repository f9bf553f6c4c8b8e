"""Transaction pooling in a run's notes: what each connection library was given for it.

Where ``[database] transaction_pooling`` says the endpoint pools per transaction
(PgBouncer's ``pool_mode = transaction``), every connection library a run's
runners use connects as the driver modules say that needs
(``Driver.transaction_pooling_kwargs``, ``asyncpg_driver``); the run says so in a
note naming what was set.  With ``--driver-defaults`` the defaults are kept,
and the note says what they keep per session that such a pool loses: the errors
of that run are what an application with those defaults sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from dbbench import drivers
from dbbench.config.settings import DatabaseSettings
from dbbench.errors import Mentioning
from dbbench.runners import runner_class

#: the flag that keeps the drivers' defaults
DRIVER_DEFAULTS_FLAG = "--driver-defaults"


class Library(NamedTuple):
    """One connection library a run uses, as transaction pooling concerns it."""

    #: what transaction pooling changes in its connect ("psycopg prepare_threshold=None")
    words: str
    #: what its defaults keep per session that a pool per transaction loses; None: nothing
    session_state: str | None


def libraries(
    database: DatabaseSettings, runner_names: Sequence[str], driver_names: Sequence[str] = ()
) -> list[Library]:
    """The connection libraries the runners (kinds or labels) connect with, each once: the
    DB-API drivers of the per-driver runners, psycopg for psycopg-pool, the asyncio driver
    for async-pool and the runners built on it."""
    from dbbench.runners.async_pool import ASYNC_DRIVERS, AsyncPoolRunner
    from dbbench.runners.psycopg_pool import PsycopgPoolRunner

    names: list[str] = []
    found: dict[str, Library] = {}
    for label in runner_names:
        cls = runner_class(label)
        if cls.per_driver:
            names += driver_names or [database.driver]
        elif cls is PsycopgPoolRunner:
            names.append("psycopg")
        elif issubclass(cls, AsyncPoolRunner):
            driver = ASYNC_DRIVERS[database.dialect]
            found.setdefault(
                driver.name, Library(driver.transaction_pooling_words, driver.session_state)
            )
    for name in names:
        driver = drivers.get_driver(name)
        found.setdefault(name, Library(driver.transaction_pooling_words(), driver.session_state))
    return sorted(found.values())


def transaction_pooling_note(
    database: DatabaseSettings, runner_names: Sequence[str], driver_names: Sequence[str] = ()
) -> Mentioning | None:
    """What transaction pooling set, or what ``--driver-defaults`` kept, in one note; None
    where neither ``[database] transaction_pooling`` nor ``--driver-defaults`` is set."""
    if not database.transaction_pooling:
        if database.driver_defaults:
            return Mentioning(
                f"{DRIVER_DEFAULTS_FLAG} changes nothing here: [database] transaction_pooling "
                "is not set, and the drivers keep their defaults anyway"
            )
        return None
    used = libraries(database, runner_names, driver_names)
    if not database.driver_defaults:
        return Mentioning(
            "transaction pooling ([database] transaction_pooling): the drivers keep no "
            "statement prepared on the server, as a pool per transaction needs: "
            + "; ".join(library.words for library in used)
        )
    kept = [library.session_state for library in used if library.session_state]
    consequence = (
        "; ".join(kept) + ": through a pool per transaction the next transaction may run on "
        "another server connection, where that statement does not exist (or another "
        "client's has its name), so the errors here are what an application with those "
        "defaults sees"
        if kept
        else "none of the drivers in this run prepares a statement on the server, so they "
        "lose nothing of their own"
    )
    return Mentioning(
        f"{DRIVER_DEFAULTS_FLAG}: the drivers' defaults were kept though "
        f"[database] transaction_pooling is set: {consequence}"
    )
