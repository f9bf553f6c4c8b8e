"""Keep SQLAlchemy's and PyMySQL's own log output off the user's terminal, unless --debug.

SQLAlchemy's pool logs a full traceback ("Exception during reset or
similar") whenever it discards a broken connection; dbbench counts those
failures itself and reports them in one line, so by default they are
silenced.  With ``--debug`` they are shown.
"""

from __future__ import annotations

import logging

LIBRARY_LOGGERS = ("sqlalchemy", "pymysql")


#: the one handler that silences them; added once, however often ``configure`` is called
_SILENCE = logging.NullHandler()


def configure(debug: bool) -> None:
    """Silence the library loggers, or (``debug``) let them through; idempotent."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if debug:
            logger.removeHandler(_SILENCE)
            logger.propagate = True
        else:
            if _SILENCE not in logger.handlers:
                logger.addHandler(_SILENCE)
            logger.propagate = False
