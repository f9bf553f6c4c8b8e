"""dbbench: what database connections cost a Python application, and what pooling buys.

The names below are imported on first use (PEP 562): every ``import dbbench.<module>``
runs this file first, and ``dbbench --help`` must not pay for SQLAlchemy and the
drivers that ``run_benchmark`` brings in.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_EXPORTS = {
    "Settings": "dbbench.settings",
    "load_settings": "dbbench.settings",
    "run_benchmark": "dbbench.benchmark",
}

__all__ = ["Settings", "load_settings", "run_benchmark"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dbbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
