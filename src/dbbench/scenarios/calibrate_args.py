"""What ``dbbench calibrate`` accepts: its recipes, and the check of its number of trials.

Apart from the scenario (``scenarios/calibrate.py``), which brings SQLAlchemy, the
drivers and scipy: the command line offers these in its ``--help``, which imports none.
"""

from __future__ import annotations

from dbbench.parsing import integer

#: ``saved``: two runs of the settings, one after the other, diffed unpaired (``dbbench
#: diff A.json B.json``); ``duet``: the settings as two identical variants of one run,
#: compared paired (``dbbench compare --variant base=... --variant new=... --fail-on``)
RECIPES = ("saved", "duet")
DEFAULT_TRIALS = 10


def check_trials(value: object) -> int:
    """A number of trials: 2 or more (``ValueError`` with the rest of the message)."""
    trials = integer()(value)
    if trials < 2:
        raise ValueError(f"a calibration needs 2 trials or more ({DEFAULT_TRIALS} by default)")
    return trials
