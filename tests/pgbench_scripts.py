"""pgbench's built-in scripts (pgbench --show-script=NAME, PostgreSQL 15), for the tests
of dbbench.scripts: they parse, and run unchanged, as pgbench runs them."""

#: pgbench's built-in select-only script (pgbench --show-script=select-only)
SELECT_ONLY = """\
-- select-only: <builtin: select only>
\\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
"""

#: pgbench's built-in tpcb-like script
TPCB_LIKE = """\
-- tpcb-like: <builtin: TPC-B (sort of)>
\\set aid random(1, 100000 * :scale)
\\set bid random(1, 1 * :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) \
VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
"""
