"""Result files are untrusted input: used only once they are documents dbbench could have written.

``model.read_document`` reads a file's text through here:

1. ``parse``: strict JSON, an object at the top; no NaN, Infinity or number too large for
   a float (Python's ``json`` takes them all), no whole number of more than ``MAX_DIGITS``
   digits, no key named twice in one object, no text that is not Unicode (an unpaired
   surrogate), no text (value or key) longer than ``MAX_TEXT``, no byte-order mark, nested
   at most ``MAX_DEPTH`` deep, at most ``MAX_VALUES`` values;
2. ``kind_of``: a ``command`` this dbbench knows (``model`` checks the ``schema_version``);
3. ``check(..., loose=True)``: an older version's document against the JSON Schema with
   every key optional (the types of what it has, its histograms whole), before
   ``model.upgrade`` fills in what it lacks;
4. ``check``: the (upgraded) document against the JSON Schema of its command
   (``dbbench-result.schema.json``, beside this module; ``schema/`` at the top of the
   repository links to it), then what the schema cannot say and the formats rely on
   (``_consistent``): a histogram's buckets hold its count of values and its sums are
   those of such values, a runner's latency histogram holds its ``n`` operations and its
   errors add up, percentiles rise from min to max, a runner (a sweep's setting, a stale
   protection) is there once, a diff's verdict names its own changes and thresholds.

Every refusal is one ``ResultFileError`` line naming the file and the key, as a path from
the top of the document (``results[1].histograms.latency.count``), with what was expected
and what is there; it never shows more than ``SHOWN`` characters of a value.  A leaf: it
imports nothing of the model, so the model can use it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from dbbench import histogram
from dbbench.errors import ResultFileError

if TYPE_CHECKING:
    import jsonschema

#: the deepest a document may nest (dbbench's own nest 8 deep, a sweep's cell's runner's
#: histogram); deeper, it is refused before the schema or the model recurse into it
MAX_DEPTH = 64
#: a whole number with more digits is refused as it is read (2^63 has 19)
MAX_DIGITS = 40
#: the most values (items of arrays and objects) a document may hold: a sweep of 45 cells
#: with 5 repetitions holds some 50,000, and one near the 64 MiB a result file may be
#: (safeio.RESULT_LIMIT) under a million; checking 2 million takes some 15 s
MAX_VALUES = 2_000_000
#: the longest text (a value or a key) a document may hold: dbbench's longest is a query
#: or an init_command, from a settings file of at most 1 MiB (safeio.SETTINGS_LIMIT) or a
#: command line argument (128 KiB); a longer one is refused before any format draws it
#: (a table wraps 50 MB of query text for some 40 s)
MAX_TEXT = 2 * 1024 * 1024
#: the most characters of a value a message shows
SHOWN = 40
SCHEMA_FILE = "dbbench-result.schema.json"
#: each command, and its document's definition in the schema
KINDS = {
    "run": "run",
    "compare": "run",
    "sweep": "sweep",
    "stale": "stale",
    "explain": "explain",
    "diff": "diff",
    "runs": "runs",
    "calibrate": "calibrate",
}

Path = tuple[str | int, ...]


# --- 1. strict JSON ----------------------------------------------------------------------


class _Refused:
    """A value Python's ``json`` reads that no dbbench file holds (NaN, 1e400, 10**50)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what


class _TwiceNamed(dict):  # type: ignore[type-arg]
    """An object that named ``key`` twice: which of its values is meant cannot be known."""

    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    twice = _TwiceNamed(found)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            twice.key = key
            break
        seen.add(key)
    return twice


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} (not a number JSON allows)")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{clip(text)} (beyond a float's range)")


def _int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        return _Refused(f"a whole number of {digits:,} digits (at most {MAX_DIGITS} are read)")
    return int(text)


def parse(text: str, source: str) -> dict[str, Any]:
    """A result file's text as a JSON object, strictly (see the module's 1.)."""
    if not text.strip():
        raise ResultFileError(f"{source}: empty, not a result file")
    if text.startswith("\ufeff"):  # json's own words, "Unexpected UTF-8 BOM", sound like a bug
        raise ResultFileError(
            f"{source}: not JSON (it starts with a byte-order mark, which JSON does not "
            "allow); dbbench writes its files without one, so this one was not written by "
            "it, or was changed since"
        )
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except RecursionError:
        raise ResultFileError(
            f"{source}: not a dbbench result file (JSON nested too deeply: more than "
            f"{MAX_DEPTH} levels)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(
            f"{source}: not JSON ({exc.msg}, line {exc.lineno}); dbbench writes its files "
            "atomically, so this one was not written by it, or was changed since"
        ) from None
    if not isinstance(document, dict):
        raise ResultFileError(f"{source}: not a dbbench result file (not a JSON object)")
    for path, problem in _strange(document):
        raise ResultFileError(f"{source}: {where(path)}: {problem}")
    return document


_LONGEST = f"(dbbench writes at most {MAX_TEXT:,})"


def _strange(document: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """Each value of ``document`` that strict JSON refuses, with its path; iterative, so
    that no depth of nesting can exhaust the stack, and counting the values."""
    stack: list[tuple[Path, Any]] = [((), document)]
    values = 0
    while stack:
        path, container = stack.pop()
        if len(path) >= MAX_DEPTH:
            yield path, f"nested too deeply (more than {MAX_DEPTH} levels)"
            return
        values += len(container)
        if values > MAX_VALUES:
            yield path, f"more than {MAX_VALUES:,} values in one document (dbbench writes fewer)"
            return
        if isinstance(container, _TwiceNamed):
            yield (*path, container.key), "named twice in one object (which value is meant?)"
        inner = []
        for key, item in container.items() if isinstance(container, dict) else enumerate(container):
            if isinstance(key, str) and not _unicode(key):
                yield path, f"a key that is not Unicode text ({shown(key)})"
            if isinstance(key, str) and len(key) > MAX_TEXT:
                yield path, f"a key of {len(key):,} characters {_LONGEST}"
            if isinstance(item, dict | list):
                inner.append(((*path, key), item))
            elif isinstance(item, _Refused):
                yield (*path, key), item.what
            elif isinstance(item, str) and len(item) > MAX_TEXT:
                yield (*path, key), f"text of {len(item):,} characters {_LONGEST}"
            elif isinstance(item, str) and not _unicode(item):
                problem = f"text that is not Unicode (an unpaired surrogate): {shown(item)}"
                yield (*path, key), problem
        stack.extend(reversed(inner))


def _unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- 2-4. version, command, schema -------------------------------------------------------


def kind_of(command: Any, source: str) -> str:
    """The schema's definition of a ``command``'s document (``KINDS``); else why not."""
    if command is None:
        raise ResultFileError(f"{source}: not a dbbench result file (no command)")
    found = KINDS.get(command) if isinstance(command, str) else None
    if found is None:
        raise ResultFileError(
            f"{source}: command: {shown(command)} is not one this dbbench knows "
            f"({', '.join(KINDS)})"
        )
    return found


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of result documents (``dbbench-result.schema.json``)."""
    text = resources.files("dbbench.results").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator(kind: str, loose: bool) -> jsonschema.protocols.Validator:
    """A validator of the schema's ``kind`` document; ``loose``: of an older version's,
    every key optional but a histogram's, and of any schema_version."""
    definitions = schema()["$defs"]
    if loose:
        definitions = _loosened(definitions)
    root = {"$schema": schema()["$schema"], "$defs": definitions, "$ref": f"#/$defs/{kind}"}
    return _strict_validator()(root)


@functools.cache
def _strict_validator() -> type[jsonschema.protocols.Validator]:
    """JSON Schema 2020-12 with an integer that is one as JSON writes it (``30``): the
    standard's takes ``30.0`` too, which Python reads as a float, and a count read from a
    file is used as an int."""
    # jsonschema: a well-kept implementation of JSON Schema 2020-12, imported only once a
    # result file is read (about 0.15 s), never at start-up
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)


def _loosened(node: Any, keep: bool = False) -> Any:
    """The schema's definitions for an older version's document: no key required (upgrade
    fills them in) but a histogram's, which every version wrote whole, and those a "not"
    refuses (a password); and no schema_version's value."""
    if isinstance(node, list):
        return [_loosened(item, keep) for item in node]
    if not isinstance(node, dict):
        return node
    loosened = {}
    for key, value in node.items():
        if key == "required" and not keep:
            continue
        if key == "schema_version" and isinstance(value, dict) and "const" in value:
            value = {"type": "integer"}
        loosened[key] = _loosened(value, keep or key in ("histogram", "not"))
    return loosened


def check(document: Mapping[str, Any], kind: str, source: str, *, loose: bool = False) -> None:
    """``ResultFileError`` naming the first key of ``document`` (parsed by ``parse``) that
    is not what a ``kind`` document holds (the module's 3. when ``loose``, else 4.)."""
    error = next(iter(_validator(kind, loose).iter_errors(document)), None)
    if error is not None:
        raise ResultFileError(f"{source}: {_problem(error)}")
    _check_histograms(document, kind, source)
    if not loose:
        for path, problem in _consistent(document, kind):
            raise ResultFileError(f"{source}: {where(path)}: {problem}")


_TYPES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _problem(error: jsonschema.ValidationError) -> str:
    """One schema error as "PATH: expected ..., got ...": what the key should hold."""
    path: Path = tuple(error.absolute_path)
    rule, value, found = error.validator, error.validator_value, error.instance
    if rule == "required":
        missing = next(key for key in value if key not in found)
        return f"{where((*path, missing))}: missing"
    if rule == "not":  # the only "not" of the schema: a database section's password
        return (
            f"{where((*path, 'password'))}: a result file never holds a password "
            "(dbbench writes password_set)"
        )
    if rule == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = next(key for key in found if key not in known)
        return f"{where((*path, extra))}: not a key of {where(path)} (it has {', '.join(known)})"
    if rule == "type":
        types = [value] if isinstance(value, str) else value
        expected = " or ".join(_TYPES.get(t, t) for t in types)
    elif rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }
        expected = f"a number {words[rule]} {value}"
    elif rule == "enum":
        expected = "one of " + ", ".join(shown(choice) for choice in value)
    elif rule == "const":
        expected = shown(value)
    elif rule == "pattern":
        expected = f"text matching {value}"
    elif rule in ("minLength", "maxLength"):
        expected = f"text of {'at least' if rule == 'minLength' else 'at most'} {value} characters"
    elif rule in ("minItems", "maxItems"):
        expected = f"{'at least' if rule == 'minItems' else 'at most'} {value} items"
    else:  # a rule the schema does not use today
        expected = f"what the schema's {rule!r} allows"
    return f"{where(path)}: expected {expected}, got {shown(found)}"


# --- 5. what the schema cannot say --------------------------------------------------------


def _check_histograms(document: Mapping[str, Any], kind: str, source: str) -> None:
    """Every runner's histograms consistent, before anything decodes one
    (``histogram.inconsistency``)."""
    for path, runner in _runners(document, kind):
        for name in ("latency", "checkout"):
            data = (runner.get("histograms") or {}).get(name)
            problem = histogram.inconsistency(data) if data is not None else None
            if problem is not None:
                key, why = problem
                raise ResultFileError(f"{source}: {where((*path, 'histograms', name, key))}: {why}")


def _runners(document: Mapping[str, Any], kind: str) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Each runner's entry of a run's or a sweep's document (schema-valid; of an older
    version, those it has), merged and in each repetition, with its path."""
    for path, runners in _runner_lists(document, kind):
        for index, runner in enumerate(runners):
            yield (*path, index), runner


def _runner_lists(document: Mapping[str, Any], kind: str) -> Iterator[tuple[Path, list[Any]]]:
    """The ``results`` of a run's or a sweep's document: the run's (each sweep cell's) and
    each of its repetitions', with their paths."""
    runs: list[tuple[Path, Any]] = [((), document)] if kind == "run" else []
    if kind == "sweep":
        cells = enumerate(document.get("cells", []))
        runs = [(("cells", index, "result"), cell.get("result")) for index, cell in cells]
    for path, run in runs:
        if run is None:
            continue
        yield (*path, "results"), run.get("results", [])
        for number, repetition in enumerate(run.get("repetitions", [])):
            yield (*path, "repetitions", number, "results"), repetition.get("results", [])


def _setting(cell: Mapping[str, Any]) -> tuple[str | None, int, int, int]:
    """A cell's point of the grid, and its variant in a sweep of several."""
    return cell.get("variant"), cell["concurrency"], cell["pool_size"], cell["max_overflow"]


def _once(path: Path, items: Sequence[Any], name: Any, what: str) -> Iterator[tuple[Path, str]]:
    """The first item of ``items`` (at ``path``) whose ``name(item)`` an earlier one had."""
    seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        key = name(item)
        if key in seen:
            yield (*path, index), f"{what} of {where((*path, seen[key]))} a second time"
            return
        seen[key] = index


def _consistent(document: Mapping[str, Any], kind: str) -> Iterator[tuple[Path, str]]:
    """What in a schema-valid document of ``kind`` cannot be so, with its path."""
    for path, runners in _runner_lists(document, kind):
        yield from _once(path, runners, lambda runner: runner["runner"], "the runner")
    if kind == "sweep":
        yield from _once(("cells",), document["cells"], _setting, "the setting")
    for path, runner in _runners(document, kind):
        yield from _errors_add_up(path, runner, "errors")
        yield from _latencies(path, runner, runner["n"])
        if runner["checkout"] is not None:
            yield from _latencies((*path, "checkout"), runner["checkout"], runner["n"])
        latency = runner["histograms"]["latency"]
        if latency is not None and latency["count"] != runner["n"]:
            yield (
                (*path, "histograms", "latency", "count"),
                f"{latency['count']}, but n (the runner's operations) is {runner['n']}",
            )
    if kind == "run":
        yield from _variants_agree(document)
    if kind == "stale":
        cases = document["cases"]
        yield from _once(("cases",), cases, lambda case: case["protection"], "the protection")
        for index, case in enumerate(cases):
            path = ("cases", index)
            yield from _errors_add_up(path, case, "errors")
            for key in ("latency", "baseline"):
                yield from _latencies((*path, key), case[key], case[key]["n"])
    elif kind == "diff":
        yield from _verdict(document)
    elif kind == "calibrate":
        for index, trial in enumerate(document["trials"]):
            yield from _runner_diffs(("trials", index, "diffs"), trial["diffs"])


def _variants_agree(document: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """A run of several variants: its environment names each variant of its settings, and
    no other (``diff`` takes each variant apart by name: ``RunResult.variant_view``)."""
    settings = (document.get("settings") or {}).get("variants")
    environment = (document.get("environment") or {}).get("variants")
    if not settings or environment is None:
        return
    names = [variant.get("name") for variant in settings]
    yield from _once(("settings", "variants"), settings, lambda v: v.get("name"), "the variant")
    for index, variant in enumerate(environment):
        if variant.get("name") not in names:
            listed = ", ".join(str(name) for name in names)
            yield (
                ("environment", "variants", index, "name"),
                f"{shown(variant.get('name'))} is no variant of settings.variants ({listed})",
            )
            return
    missing = [name for name in names if name not in [v.get("name") for v in environment]]
    if missing:
        yield ("environment", "variants"), f"has no entry for variant {shown(missing[0])}"


def _errors_add_up(path: Path, counted: Mapping[str, Any], key: str) -> Iterator[tuple[Path, str]]:
    by_kind = sum(counted["errors_by_kind"].values())
    if counted[key] != by_kind:
        yield (*path, key), f"{counted[key]}, but errors_by_kind adds up to {by_kind}"


def _latencies(path: Path, summary: Mapping[str, Any], n: int) -> Iterator[tuple[Path, str]]:
    """Latency statistics that can be: a mean with its standard deviation (the tests of
    noise take both), each percentile at least the one below it, from min to max (a
    file of an older dbbench may lack them: null, drawn as missing)."""
    if not n or summary["mean_us"] is None:
        return  # read as no statistics at all
    mean = summary["mean_us"]
    if summary["stddev_us"] is None:
        yield (*path, "stddev_us"), f"null, but mean_us is {shown(mean)}"
        return
    if mean < 0.001:
        yield (*path, "mean_us"), f"{shown(mean)}, but an operation takes 1 ns at least"
        return
    low, high = summary["min_us"], summary["max_us"]
    if low is not None and high is not None and summary["stddev_us"] > high - low:
        spread = f"max_us - min_us ({shown(high - low)})"
        yield (*path, "stddev_us"), f"{shown(summary['stddev_us'])} is more than {spread}"
        return
    for key, beyond in (
        ("min_us", mean < (summary["min_us"] or 0)),
        ("max_us", summary["max_us"] is not None and mean > summary["max_us"]),
    ):
        if beyond:
            yield (*path, "mean_us"), f"{shown(mean)} is beyond {key} ({summary[key]})"
            return
    below: tuple[str, float] | None = None
    for key in _percentiles():
        value = summary[key]
        if value is None:
            continue
        if below is not None and value < below[1]:
            yield (*path, key), f"{shown(value)} is less than {below[0]} ({below[1]})"
            return
        below = (key, value)


@functools.cache
def _percentiles() -> tuple[str, ...]:
    """The statistics that rise from min to max, in order (``min_us`` ... ``max_us``)."""
    keys = schema()["$defs"]["latencies"]["required"]
    return tuple(key for key in keys if key not in ("mean_us", "stddev_us"))


def _verdict(document: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """Each threshold a diff says tripped (or warned) one of its thresholds, on a change
    it has, once."""
    yield from _runner_diffs(("diffs",), document["diffs"])
    changes = {
        (_label(diff), change["metric"]) for diff in document["diffs"] for change in diff["changes"]
    }
    for key in ("tripped", "warned"):
        for index, trip in enumerate(document[key]):
            if (trip["runner"], trip["metric"]) not in changes:
                yield (
                    (key, index),
                    f"names a change the diff does not have ({trip['metric']} of "
                    f"{shown(trip['runner'])})",
                )
            elif trip["threshold"] not in document["thresholds"]:
                yield (key, index, "threshold"), f"{shown(trip['threshold'])} is not in thresholds"


def _runner_diffs(path: Path, diffs: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Path, str]]:
    seen: set[tuple[str, str]] = set()
    for index, diff in enumerate(diffs):
        for number, change in enumerate(diff["changes"]):
            key = (_label(diff), change["metric"])
            if key in seen:
                yield (
                    (*path, index, "changes", number, "metric"),
                    (f"{change['metric']} of {shown(key[0])} a second time"),
                )
            seen.add(key)


def _label(diff: Mapping[str, Any]) -> str:
    return diff["runner"] if diff["cell"] is None else f"{diff['runner']} ({diff['cell']})"


# --- saying where, and what --------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: a longer path is shown by its first and last keys
_PATH_SHOWN = 12


def where(path: Path) -> str:
    """A key's path from the top of a document: ``results[1].histograms.latency.count``."""
    if not path:
        return "the document"
    text = ""
    for number, part in enumerate(path):
        if _PATH_SHOWN - 2 <= number < len(path) - 2 and len(path) > _PATH_SHOWN:
            text += "..." if number == _PATH_SHOWN - 2 else ""
        elif isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part) and len(part) <= SHOWN:
            text += f".{part}" if text else part
        else:
            text += f"[{shown(part)}]"
    return text


def clip(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def shown(value: Any) -> str:
    """A value as a message shows it: JSON, ASCII only, at most ``SHOWN`` characters."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, _Refused):
        return value.what
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**SHOWN:
        return f"a whole number of {len(str(abs(value)))} digits"
    if isinstance(value, str):
        return json.dumps(clip(value.encode("utf-8", "backslashreplace").decode("utf-8")))
    return clip(json.dumps(value))
