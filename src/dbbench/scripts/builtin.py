"""The built-in read workloads (``[benchmark] workload``): scripts in pgbench's language on
dbbench's data set, the table ``dbbench prepare`` makes (``databases.dataset``).

They are sysbench's ``oltp_point_select`` and ``oltp_read_only`` (``oltp_common.lua``), on
``dbbench_data``, sysbench's ``sbtest`` shape:

* ``point-select``: one ``SELECT c ... WHERE id = ?`` of a random id;
* ``read-only``: a transaction of five reads, each of sysbench's kinds once (sysbench's
  own runs ten point selects): a point select, then over 100 consecutive ids (sysbench's
  ``--range_size``) a simple range, a sum, an ordered range and a distinct one.

``:rows`` is the data set's rows, read from its mark before the run
(``databases.read_data_set``): every id drawn is in 1 .. rows.  The same SQL runs on
MySQL, MariaDB and PostgreSQL; it only reads, so no ``--allow-writes``.
"""

from __future__ import annotations

from dbbench.scripts.parse import Script, parse_script

#: the variable the built-in scripts read, the data set's rows
ROWS = "rows"

#: sysbench's --range_size: the ids a range statement reads
RANGE_SIZE = 100

POINT_SELECT = """\
\\set id random(1, :rows)
SELECT c FROM dbbench_data WHERE id = :id;
"""

READ_ONLY = f"""\
\\set id random(1, :rows)
\\set start random(1, greatest(:rows - {RANGE_SIZE - 1}, 1))
\\set stop :start + {RANGE_SIZE - 1}
BEGIN;
SELECT c FROM dbbench_data WHERE id = :id;
SELECT c FROM dbbench_data WHERE id BETWEEN :start AND :stop;
SELECT SUM(k) FROM dbbench_data WHERE id BETWEEN :start AND :stop;
SELECT c FROM dbbench_data WHERE id BETWEEN :start AND :stop ORDER BY c;
SELECT DISTINCT c FROM dbbench_data WHERE id BETWEEN :start AND :stop ORDER BY c;
COMMIT;
"""

#: each built-in workload's script, by the name ``[benchmark] workload`` gives it
SCRIPTS: dict[str, str] = {"point-select": POINT_SELECT, "read-only": READ_ONLY}


def builtin_script(name: str, dialect: str, variables: tuple[str, ...] = ()) -> Script:
    """The built-in workload ``name``'s script, parsed as ``dialect``'s SQL; ``variables``
    those the run defines besides ``rows``.  The script's name is the workload's."""
    return parse_script(SCRIPTS[name], name, dialect=dialect, variables=(*variables, ROWS))
