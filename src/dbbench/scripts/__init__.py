"""Scripts in pgbench's ``-f`` language: each operation runs one, its statements in order,
on one connection (``--script FILE[@WEIGHT]`` on run and compare: ``workload_script``).

A library in four steps, each its own module, and its checks:

* ``parse``: a file's text -> ``Script`` (SQL statements, ``\\set``, ``\\sleep``), every
  problem one line naming the file and line;
* ``expr``: ``\\set``'s expressions, parsed and evaluated as pgbench evaluates them, the
  random functions drawing from a ``random.Random`` given per client thread;
* ``bind``: each statement's ``:name`` as a driver parameter, in the driver's paramstyle;
* ``run``: one script on one DB-API connection, each statement timed, ``\\sleep`` counted
  as think time, a failure rolled back;
* ``checks``: what a script may not do, known from its text when the settings load (a
  transaction left open at its end, a SET of autocommit), and whether it reads ``:rows``.

Syntax (a pgbench script runs unchanged on PostgreSQL; on MySQL, with MySQL's SQL)::

    -- tx.sql: comments and blank lines are skipped
    \\set aid random(1, 100000 * :scale)
    \\set bid random_zipfian(1, :scale, 1.5)
    \\set delta random(-5000, 5000)
    BEGIN;
    UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
    SELECT abalance FROM pgbench_accounts
        WHERE aid = :aid;
    \\sleep 10 ms
    COMMIT;

* a SQL statement ends at ``;`` outside quotes, comments and parentheses (or where a
  meta-command begins, or at the end of the file), and may span lines; ``:name`` in it
  is sent as a parameter of the statement, typed (an int, a double), never pasted into
  its text; ``::type`` is a cast, and a ``:x`` inside a quoted string or a comment is
  text;
* ``\\set NAME EXPR``: integer and double literals, ``true``/``false``/``null``,
  ``:var``; ``+ - * / %`` with C's integer semantics (``-7 / 2`` is ``-3``, ``-7 % 2`` is
  ``-1``, an overflow an error); comparisons, ``AND OR NOT``, ``IS``, bitwise
  operators, ``CASE``; ``abs double exp greatest hash hash_fnv1a hash_murmur2 int least
  ln mod pi pow power random random_exponential random_gaussian random_zipfian sqrt``
  (details: ``expr``);
* ``\\sleep N [us|ms|s]``: N a whole number or a ``:var``, seconds by default;
* transactions are the script's own: ``BEGIN``/``COMMIT`` are sent as written, on a
  connection in autocommit mode, so a statement outside them commits by itself.

Not supported, refused by name: pgbench's ``\\gset``, ``\\aset``, ``\\if``/``\\elif``/
``\\else``/``\\endif``, ``\\shell``, ``\\setshell``, the pipeline commands, ``\\;``, and
the functions ``debug`` and ``permute``.
"""
