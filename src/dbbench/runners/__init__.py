"""The runners, by name: one registry of the runner classes, and the labels results use.

What sets a runner apart (it connects per operation, holds a pool, is the
baseline, ...) is said by class attributes of its class (``runners/base.py``);
code elsewhere reads those, never a runner's name.

The registry lists names without importing the classes: ``dbbench --help``
shows the names, and a runner's module (SQLAlchemy, the drivers) is imported
when its class is first looked up.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dbbench.config.settings import VARIANT_MARK, split_label
from dbbench.errors import ConfigError, mention
from dbbench.parsing import parse_name_list

T = TypeVar("T")


class _Registry(Mapping[str, type]):
    """Runner name -> its class, imported on first lookup."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = paths

    def __getitem__(self, name: str) -> type:
        module, _, class_name = self._paths[name].partition(":")
        return getattr(importlib.import_module(module), class_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


#: every runner, in the order tables and help list them
RUNNERS: Mapping[str, type] = _Registry(
    {
        "raw": "dbbench.runners.raw:RawRunner",
        "pool": "dbbench.runners.pool:PoolRunner",
        "persistent": "dbbench.runners.persistent:PersistentRunner",
        "nullpool": "dbbench.runners.pool:NullPoolRunner",
        "async-pool": "dbbench.runners.async_pool:AsyncPoolRunner",
        "psycopg-pool": "dbbench.runners.psycopg_pool:PsycopgPoolRunner",
        "core": "dbbench.runners.core:CoreRunner",
        "session": "dbbench.runners.session:SessionRunner",
        "async-core": "dbbench.runners.async_core:AsyncCoreRunner",
        "async-session": "dbbench.runners.async_session:AsyncSessionRunner",
        "orm": "dbbench.runners.orm:OrmRunner",
        "async-orm": "dbbench.runners.async_orm:AsyncOrmRunner",
    }
)
RUNNER_NAMES: tuple[str, ...] = tuple(RUNNERS)
#: what runs when --runner is not given
DEFAULT_RUNNERS: tuple[str, ...] = ("raw", "pool", "persistent")
#: the runners ``dbbench explain`` splits into phases: those whose classes say how
#: (``explained_as``); named here, as a test holds it to the classes, so that ``--help``
#: imports no runner
EXPLAIN_RUNNERS: tuple[str, ...] = ("raw", "pool", "persistent", "core", "session")
#: what ``dbbench explain`` splits when --runner is not given: the ways of getting a
#: connection (``core`` and ``session``, SQLAlchemy's layers over ``pool``, when asked)
EXPLAIN_DEFAULT_RUNNERS: tuple[str, ...] = ("raw", "pool", "persistent")

__all__ = [
    "DEFAULT_RUNNERS",
    "EXPLAIN_DEFAULT_RUNNERS",
    "EXPLAIN_RUNNERS",
    "RUNNERS",
    "RUNNER_NAMES",
    "RunnerLabel",
    "baseline_for",
    "baseline_name",
    "create_runner",
    "is_baseline",
    "names_with",
    "parse_runner_names",
    "runner_class",
    "runner_labels",
    "runner_settings",
    "runner_with",
]


def runner_class(name: str) -> type:
    """The class of runner ``name`` (a kind, or a label such as ``"raw/mysqlclient"``)."""
    kind = RunnerLabel.parse(name).kind
    if kind not in RUNNERS:
        raise ConfigError(f"unknown runner {kind!r}; choose from {', '.join(RUNNER_NAMES)}")
    return RUNNERS[kind]


def names_with(trait: str, names: Iterable[str] = RUNNER_NAMES) -> tuple[str, ...]:
    """The names (kinds or labels) among ``names`` whose class has ``trait`` set."""
    return tuple(name for name in names if getattr(runner_class(name), trait))


def runner_with(trait: str, results: Iterable[T]) -> T | None:
    """The first of ``results`` (anything with a ``runner`` label) whose class has ``trait``."""
    return next((r for r in results if getattr(runner_class(r.runner), trait)), None)  # type: ignore[attr-defined]


@functools.cache
def baseline_name() -> str:
    """The runner every other is compared with (the one whose class ``is_baseline``)."""
    (name,) = names_with("is_baseline")
    return name


def baseline_for(runner: str) -> str:
    """The runner another is compared with: ``raw``; ``raw/DRIVER`` for ``pool/DRIVER``,
    ``raw@VARIANT`` for ``pool@VARIANT``: its own driver's, its own variant's."""
    return str(RunnerLabel.parse(runner).baseline())


def is_baseline(runner: str) -> bool:
    return runner == baseline_for(runner)


@dataclass(frozen=True)
class RunnerLabel:
    """A runner's name in results: ``"pool"``; ``"pool/mysqlclient"`` with several drivers;
    ``"pool@new"`` (``"pool/mysqlclient@new"``) in variant ``new`` of a run of several
    (``Settings.variants``)."""

    kind: str
    driver: str | None = None
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> RunnerLabel:
        runner, variant = split_label(text)
        kind, _, driver = runner.partition("/")
        return cls(kind, driver or None, variant or None)

    def __str__(self) -> str:
        text = f"{self.kind}/{self.driver}" if self.driver else self.kind
        return f"{text}{VARIANT_MARK}{self.variant}" if self.variant else text

    @property
    def runner_class(self) -> type:
        return runner_class(self.kind)

    def baseline(self) -> RunnerLabel:
        """The runner this one is compared with: the baseline, with the same driver and
        in the same variant."""
        return RunnerLabel(baseline_name(), self.driver, self.variant)


def runner_labels(
    runner_names: Sequence[str], driver_names: Sequence[str], variant_names: Sequence[str] = ()
) -> list[str]:
    """The runners to create: the names as they are with one driver, else each runner
    once per driver, labelled ``raw/pymysql``, ``raw/mysqlclient``, ``pool/pymysql``, ...;
    with variants, each of those once per variant, next to each other: ``raw@base``,
    ``raw@new``, ``pool@base``, ``pool@new``, ...

    A runner that is not ``per_driver`` (``async-pool``, with its own asyncio
    driver) runs once per variant, without a driver in its label."""
    labels = list(runner_names)
    if len(driver_names) > 1:
        labels = [
            label
            for runner in runner_names
            for label in (
                [f"{runner}/{driver}" for driver in driver_names]
                if runner_class(runner).per_driver
                else [runner]
            )
        ]
    if not variant_names:
        return labels
    return [f"{label}{VARIANT_MARK}{variant}" for label in labels for variant in variant_names]


def parse_runner_names(text: str, where: str = mention("runner_names")) -> list[str]:
    """``"raw,pool"`` -> ``["raw", "pool"]``, validated, in the order given; a repeat is refused."""
    names = parse_name_list(text, RUNNER_NAMES, where, "runner")
    for name in names:
        RUNNERS[name].check_available(where)  # before any run starts, in this process
    return names


def runner_settings(label: str, settings: Any) -> Any:
    """The settings the runner ``label`` runs with: ``settings``, or for ``pool@new`` those of
    variant ``new`` (``Settings.variant``); through a pooler (``--pooler``), to the runner's
    own pool of its target (``Pooler.database_for``)."""
    variant = RunnerLabel.parse(label).variant
    if variant is None:
        return settings
    own = settings.variant(variant)
    pooler = getattr(settings, "pooler", None)
    alias = pooler.database_for(label) if pooler is not None else None
    if alias is None:
        return own
    return dataclasses.replace(own, database=dataclasses.replace(own.database, database=alias))


def create_runner(label: str, settings: Any) -> Any:
    """The runner ``label`` names: ``"pool"`` (the configured driver), ``"pool/mysqlclient"``,
    ``"pool@new"`` (with variant ``new``'s settings: ``runner_settings``)."""
    parsed = RunnerLabel.parse(label)
    own = runner_settings(label, settings)
    return runner_class(parsed.kind).from_settings(own, parsed.driver, label=label)
