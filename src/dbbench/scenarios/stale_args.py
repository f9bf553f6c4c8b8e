"""What ``dbbench stale`` accepts: the protections it compares, and the checks of its arguments.

Apart from the scenario (``scenarios/stale.py``), which brings SQLAlchemy and the drivers:
the command line offers these names in its ``--help``, which imports neither.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence

from dbbench.config.schema import MAX_IDLE_EXTRA_S, argument, command_default, setting
from dbbench.errors import ConfigError
from dbbench.parsing import Validator, bad_value

PROTECTIONS = ("none", "recycle", "pre_ping")
#: the default idle period is the timeout plus this, so the server has closed every connection
IDLE_MARGIN_S = 1.5
#: the pool's connections when not told: stale's own default of ``[pool] pool_size``
DEFAULT_POOL_SIZE: int = command_default("stale", "pool", "pool_size")


#: the arguments' checks (``parsing``'s: ``ValueError`` with the rest of the message), from
#: the table (``schema.ARGUMENTS``): the command line's flags' as well as ``check_arguments``'
CHECKS: dict[str, Validator] = {
    "wait_timeout_s": argument("--wait-timeout").check,
    "idle_s": argument("--idle").check,
    "pool_size": setting("pool", "pool_size").check,
    "operations": argument("--operations").check,
}

#: check_arguments' argument names, as its messages call them by default
_ARGUMENTS = ("wait_timeout_s", "idle_s", "pool_size", "operations", "protections")


def check_arguments(
    wait_timeout_s: int,
    idle_s: float | None,
    pool_size: int,
    operations: int,
    protections: Sequence[str],
    names: Mapping[str, str] | None = None,
) -> float:
    """Validate the scenario's arguments; returns the idle period in seconds.

    ``names`` renames the arguments in messages (``{"idle_s": "--idle"}``), so
    the command line's errors name its flags.
    """
    name_of = {key: key for key in _ARGUMENTS} | dict(names or {})
    wait_name, idle_name = name_of["wait_timeout_s"], name_of["idle_s"]
    protections_name = name_of["protections"]
    given = {"wait_timeout_s": wait_timeout_s, "pool_size": pool_size, "operations": operations}
    for name, value in given.items():
        try:
            CHECKS[name](value)
        except ValueError as exc:
            raise bad_value(name_of[name], value, str(exc)) from None
    if idle_s is None:
        idle_s = wait_timeout_s + IDLE_MARGIN_S
    if isinstance(idle_s, bool) or not isinstance(idle_s, int | float) or not math.isfinite(idle_s):
        raise bad_value(idle_name, idle_s, "must be a finite number of seconds")
    if idle_s <= wait_timeout_s:
        raise ConfigError(
            f"{idle_name} = {idle_s:g} is not longer than {wait_name} = {wait_timeout_s}: "
            "the server would not have closed the idle connections yet; "
            f"idle for more than {wait_timeout_s} s (default: {wait_timeout_s + IDLE_MARGIN_S:g})"
        )
    if idle_s > wait_timeout_s + MAX_IDLE_EXTRA_S:
        raise ConfigError(
            f"{idle_name} = {idle_s:g} is more than a day longer than {wait_name} = "
            f"{wait_timeout_s}: the server closed the idle connections long before; idle for "
            f"at most {wait_timeout_s + MAX_IDLE_EXTRA_S} s"
        )
    if isinstance(protections, str):
        raise bad_value(
            protections_name, protections, f"give a sequence of names, e.g. ({protections!r},)"
        )
    if not protections:
        raise ConfigError(f"{protections_name} is empty: choose from {', '.join(PROTECTIONS)}")
    for name in protections:
        if name not in PROTECTIONS:
            close = difflib.get_close_matches(str(name), PROTECTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{protections_name}: unknown protection {name!r}{hint}; "
                f"choose from {', '.join(PROTECTIONS)}"
            )
    repeated = sorted({name for name in protections if list(protections).count(name) > 1})
    if repeated:
        raise ConfigError(f"protection {repeated[0]!r} is given twice: each case runs once")
    return float(idle_s)
