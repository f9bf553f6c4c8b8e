"""``dbbench`` and ``python -m dbbench``: the command line, stop signals handled from the start.

The handlers of SIGINT, SIGTERM and SIGHUP (``dbbench.interruption``) go in before the
command line's imports, so that a signal landing in them stops dbbench as one later
does: one line, exit status 130.  The command's own ``stop_on_signals()`` goes on with
them, and once it is done a late signal is ignored: it changes nothing of how the
process ends.  (Before this runs, the interpreter starting up meets a signal as any
program does.)
"""

from __future__ import annotations

import sys

from dbbench import interruption
from dbbench.errors import ExitStatus


def main() -> None:
    with interruption.stop_on_signals(last=True):
        try:
            from dbbench.cli import main as command_line
        except KeyboardInterrupt:
            print("dbbench: error: interrupted", file=sys.stderr)
            status = interruption.exit_status(ExitStatus.INTERRUPTED, lambda text: None)
            raise SystemExit(status) from None
        command_line()


if __name__ == "__main__":
    main()
