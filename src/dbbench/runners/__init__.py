"""The runners, by name."""

from __future__ import annotations

from dbbench.errors import ConfigError
from dbbench.runners.base import Runner
from dbbench.runners.persistent import PersistentRunner
from dbbench.runners.pool import NullPoolRunner, PoolRunner
from dbbench.runners.raw import RawRunner
from dbbench.settings import Settings
from dbbench.workload import Workload

RUNNER_NAMES: tuple[str, ...] = ("raw", "pool", "persistent", "nullpool")
#: what runs when --runner is not given
DEFAULT_RUNNERS: tuple[str, ...] = ("raw", "pool", "persistent")

__all__ = ["DEFAULT_RUNNERS", "RUNNER_NAMES", "Runner", "create_runner", "parse_runner_names"]


def parse_runner_names(text: str, where: str = "--runner") -> list[str]:
    """``"raw,pool"`` -> ``["raw", "pool"]``, validated, in the order given, no repeats."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if name not in RUNNER_NAMES:
            choices = ", ".join(RUNNER_NAMES)
            raise ConfigError(f"{where} = {text!r}: unknown runner {name!r}; choose from {choices}")
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"{where} = {text!r}: name at least one of {', '.join(RUNNER_NAMES)}")
    return names


def create_runner(name: str, settings: Settings) -> Runner:
    workload = Workload(settings.benchmark.query)
    if name == "raw":
        return RawRunner(settings.database, workload)
    if name == "persistent":
        return PersistentRunner(settings.database, workload)
    if name == "pool":
        return PoolRunner(settings.database, workload, settings.pool)
    if name == "nullpool":
        return NullPoolRunner(settings.database, workload, settings.pool)
    raise ConfigError(f"unknown runner {name!r}; choose from {', '.join(RUNNER_NAMES)}")
