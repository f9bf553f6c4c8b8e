"""The runners, by name."""

from __future__ import annotations

from dbbench.drivers import get_driver
from dbbench.errors import ConfigError
from dbbench.parsing import parse_name_list
from dbbench.runners.async_pool import AsyncPoolRunner, require_packages
from dbbench.runners.base import Runner
from dbbench.runners.persistent import PersistentRunner
from dbbench.runners.pool import NullPoolRunner, PoolRunner
from dbbench.runners.raw import RawRunner
from dbbench.settings import Settings
from dbbench.workload import workload_for

RUNNER_NAMES: tuple[str, ...] = ("raw", "pool", "persistent", "nullpool", "async-pool")
#: runners that connect with an asyncio driver of their own, not a DB-API ``Driver``
ASYNC_RUNNERS: frozenset[str] = frozenset({"async-pool"})
#: what runs when --runner is not given
DEFAULT_RUNNERS: tuple[str, ...] = ("raw", "pool", "persistent")

__all__ = [
    "DEFAULT_RUNNERS",
    "RUNNER_NAMES",
    "Runner",
    "create_runner",
    "parse_runner_names",
    "runner_kind",
    "runner_labels",
]


def runner_labels(runner_names: list[str], driver_names: list[str]) -> list[str]:
    """The runners to create: the names as they are with one driver, else each runner
    once per driver, labelled ``raw/pymysql``, ``raw/mysqlclient``, ``pool/pymysql``, ...

    ``async-pool`` runs once, unlabelled: it connects with aiomysql, no DB-API driver."""
    if len(driver_names) <= 1:
        return list(runner_names)
    return [
        label
        for runner in runner_names
        for label in (
            [runner]
            if runner in ASYNC_RUNNERS
            else [f"{runner}/{driver}" for driver in driver_names]
        )
    ]


def runner_kind(label: str) -> str:
    """``"raw/mysqlclient"`` -> ``"raw"``; ``"raw"`` -> ``"raw"``."""
    return label.partition("/")[0]


def parse_runner_names(text: str, where: str = "--runner") -> list[str]:
    """``"raw,pool"`` -> ``["raw", "pool"]``, validated, in the order given, no repeats."""
    names = parse_name_list(text, RUNNER_NAMES, where, "runner")
    if "async-pool" in names:
        require_packages(where)  # before any run starts, in this process
    return names


def create_runner(label: str, settings: Settings) -> Runner:
    """The runner ``label`` names: ``"pool"`` (the configured driver) or ``"pool/mysqlclient"``."""
    workload = workload_for(settings.benchmark)
    name, _, driver_name = label.partition("/")
    driver = {
        "driver": get_driver(driver_name or settings.database.driver),
        "label": label if driver_name else None,
    }
    if name == "raw":
        return RawRunner(settings.database, workload, **driver)
    if name == "persistent":
        return PersistentRunner(settings.database, workload, **driver)
    if name == "pool":
        return PoolRunner(settings.database, workload, settings.pool, **driver)
    if name == "nullpool":
        return NullPoolRunner(settings.database, workload, settings.pool, **driver)
    if name == "async-pool":
        return AsyncPoolRunner(settings.database, workload, settings.pool)
    raise ConfigError(f"unknown runner {name!r}; choose from {', '.join(RUNNER_NAMES)}")
