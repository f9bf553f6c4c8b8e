"""Prepare speed: how long ``dbbench prepare --rows 1000000`` takes on MariaDB and PostgreSQL.

The target (issue 15): a million rows in seconds, not minutes.  The rows are made by the
server (``INSERT ... SELECT`` over MariaDB's ``seq_1_to_N`` or PostgreSQL's
``generate_series``, ten thousand a statement), the index on ``k`` built after them
(``databases.dataset``).  Each dialect's data set is made ``--repeat`` times
(``--recreate``: the one before is dropped first, not counted) and dropped at the end;
the seconds printed are ``Prepared.seconds``: from looking for the table to the ready
mark, the index and the statistics included.  Figures are printed, never asserted: the
machine's load moves them.

By default each dialect gets a throwaway server (``--server local``), so nothing is written
to a server of yours; ``--url`` (repeatable) measures the servers it names instead:

    python benchmarks/prepare_speed.py
    python benchmarks/prepare_speed.py --rows 100000 --repeat 5
    python benchmarks/prepare_speed.py --url mysql+pymysql://root@127.0.0.1/test \\
        --url postgresql://root@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from collections.abc import Iterator

from dbbench import databases
from dbbench.config.settings import Settings, load_settings
from dbbench.scenarios.benchmark import local_server
from dbbench.scenarios.dataset import cleanup, prepare

DIALECTS = ("mysql", "postgresql")


@contextlib.contextmanager
def servers(urls: list[str]) -> Iterator[list[Settings]]:
    """The settings of each server to measure: the URLs', else a throwaway one per dialect."""
    if urls:
        yield [load_settings(None, overrides={"database": {"url": url}}) for url in urls]
        return
    with contextlib.ExitStack() as stack:
        found = []
        for dialect in DIALECTS:
            settings = load_settings(None, overrides={"database": {"dialect": dialect}})
            _, local = stack.enter_context(local_server(settings))
            found.append(local)
        yield found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (default 10^6)")
    parser.add_argument("--repeat", type=int, default=3, help="loads per server (default 3)")
    parser.add_argument("--url", action="append", default=[], help="a server to measure")
    args = parser.parse_args()
    with servers(args.url) as targets:
        for settings in targets:
            seconds = []
            for _ in range(args.repeat):
                done = prepare(settings, args.rows, allow_writes=True, recreate=True)
                seconds.append(done.seconds)
            cleanup(settings, allow_writes=True)
            each = ", ".join(f"{s:.2f}" for s in seconds)
            version = databases.check_server(settings.database, None).version
            print(
                f"{version} at {settings.database.describe()}: {args.rows:,} rows in "
                f"{statistics.median(seconds):.2f} s (median of {each})"
            )


if __name__ == "__main__":
    main()
