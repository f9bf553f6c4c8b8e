"""What ``dbbench calibrate`` accepts: its recipes, and the check of its number of trials.

Apart from the scenario (``scenarios/calibrate.py``), which brings SQLAlchemy, the
drivers and scipy: the command line offers these in its ``--help``, which imports none.
"""

from __future__ import annotations

from dbbench.config.schema import argument

#: ``saved``: two runs of the settings, one after the other, diffed unpaired (``dbbench
#: diff A.json B.json``); ``duet``: the settings as two identical variants of one run,
#: compared paired (``dbbench compare --variant base=... --variant new=... --fail-on``)
RECIPES = ("saved", "duet")
DEFAULT_TRIALS = 10


#: a number of trials: 2 or more (``ValueError`` with the rest of the message); the table's
#: check (``schema.ARGUMENTS``)
check_trials = argument("--trials").check
