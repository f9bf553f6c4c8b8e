"""dbbench: what database connections cost a Python application, and what pooling buys.

The names below are imported on first use (PEP 562): every ``import dbbench.<module>``
runs this file first, and ``dbbench --help`` must not pay for SQLAlchemy and the
drivers that ``run_benchmark`` brings in.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it: one library call per command
#: (docs/guide/python.md shows them in use)
_EXPORTS = {
    "Settings": "dbbench.config.settings",
    "load_settings": "dbbench.config.settings",
    "plan_run": "dbbench.scenarios.benchmark",
    "execute_run": "dbbench.scenarios.benchmark",
    "run_benchmark": "dbbench.scenarios.benchmark",
    "run_projected": "dbbench.scenarios.benchmark",
    "run_sweep": "dbbench.scenarios.benchmark",
    "sweep_axes": "dbbench.scenarios.benchmark",
    "StaleRequest": "dbbench.scenarios.stale",
    "run_stale": "dbbench.scenarios.stale",
    "explain": "dbbench.scenarios.explain",
    "count_run_round_trips": "dbbench.scenarios.explain",
    "project_run": "dbbench.scenarios.explain",
    "calibrate": "dbbench.scenarios.calibrate",
    "load_result": "dbbench.results.model",
    "compare": "dbbench.diffing",
    "parse_fail_on": "dbbench.diffing",
    "build_report": "dbbench.output.report",
    "write_report": "dbbench.output.report",
    "Backend": "dbbench.scenarios.backend",
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
