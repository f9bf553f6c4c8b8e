"""JSON: the result document (``--format json``, ``--json``), printed as is."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console


def write_document(document: dict[str, Any], console: Console) -> None:
    # Straight to the file: rich must not wrap, colour or reflow JSON.
    console.file.write(json.dumps(document, indent=2) + "\n")
    console.file.flush()
