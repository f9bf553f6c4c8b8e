"""dbbench: what database connections cost a Python application, and what pooling buys.

The names below are imported on first use (PEP 562): every ``import dbbench.<module>``
runs this file first, and ``dbbench --help`` must not pay for SQLAlchemy and the
drivers that ``run_benchmark`` brings in.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it: one library call per command
#: (docs/guide/python.md shows them in use); ``explain`` is not among them, its
#: name being its module's (``dbbench.explain.explain``)
_EXPORTS = {
    "Settings": "dbbench.settings",
    "load_settings": "dbbench.settings",
    "plan_run": "dbbench.benchmark",
    "execute_run": "dbbench.benchmark",
    "run_benchmark": "dbbench.benchmark",
    "run_projected": "dbbench.benchmark",
    "run_sweep": "dbbench.benchmark",
    "sweep_axes": "dbbench.benchmark",
    "StaleRequest": "dbbench.stale",
    "run_stale": "dbbench.stale",
    "count_run_round_trips": "dbbench.explain",
    "project_run": "dbbench.explain",
    "load_result": "dbbench.model",
    "compare": "dbbench.diffing",
    "parse_fail_on": "dbbench.diffing",
    "build_report": "dbbench.output.report",
    "write_report": "dbbench.output.report",
    "Backend": "dbbench.backend",
    "DbbenchError": "dbbench.errors",
    "ConfigError": "dbbench.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dbbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
