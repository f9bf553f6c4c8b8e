"""dbbench: what database connections cost a Python application, and what pooling buys."""

from dbbench.benchmark import run_benchmark
from dbbench.settings import Settings, load_settings

__all__ = ["Settings", "load_settings", "run_benchmark"]
