"""What dbbench prints: one module per format behind one ``Format`` protocol.

- ``base.py``: the ``Format`` protocol (a method per kind of result: run,
  sweep, stale, diff, explain, runs); ``formats.py``: the formats by name.
- ``table_format.py`` (rich: over ``table.py``, ``matrix.py``,
  ``stale_table.py``, ``diff_table.py``, ``explain_table.py``,
  ``runs_table.py``), ``json_format.py`` (the result document, the same one
  ``--output`` writes), ``csv_format.py``, ``markdown.py``; ``report/``, the
  HTML page.
- ``columns.py``: the runner and pool table's columns and the sweep cell's
  words, which every format draws; ``numbers.py``: every figure's text.
"""
