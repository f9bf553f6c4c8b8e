"""The docs against the code, in the manner of sqlite-utils' test_docs.py: every command
line they show parses, the CLI reference is what the commands' --help says and covers
every command and option, the exit-status table is ``ExitStatus``, and every sample output
is one that scripts/docs-samples writes."""

from __future__ import annotations

import re
import shlex
import sys
import warnings
from pathlib import Path

import click
import pytest
from cogapp import Cog

from dbbench.cli import cli
from dbbench.errors import ConfigError, ExitStatus

ROOT = Path(__file__).resolve().parents[2]
CLI_REFERENCE = ROOT / "docs" / "reference" / "cli.md"
#: the hand-written docs; the CLI reference is --help, whose examples are read from the code
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"] + [
    path for path in sorted((ROOT / "docs").rglob("*.md")) if path != CLI_REFERENCE
]

#: a fenced line that runs dbbench, as `dbbench ...` or `$ dbbench ...`
FENCED = re.compile(r"^\s*(?:\$\s+)?(dbbench\s.*)$")
PROMPTED = re.compile(r"^\s*\$\s+(dbbench\s.*)$")
SHELL = {"sh", "shell", "bash", "console"}
#: an inline code span that runs dbbench: `dbbench run -n 100`
INLINE = re.compile(r"`(dbbench\s[^`]+)`")
#: what ends one command inside a shell line
SHELL_BREAK = re.compile(r"\s(?:;|&&|\|\||\||>|2>|<)\s|;\s*")


def commands_in(text: str) -> list[str]:
    """The dbbench commands in one shell line, its comment and redirections left out."""
    text = re.sub(r"\s+#\s.*$", "", text)
    parts = (part.strip() for part in SHELL_BREAK.split(text))
    return [part for part in parts if part.startswith("dbbench ") or part == "dbbench"]


def command_lines() -> list[tuple[str, str]]:
    """(where, command line) for every dbbench command the docs show."""
    found = []
    for path in DOCS:
        fence = None  # the open fence's language ("" for a block of output)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                fence = line.strip()[3:] if fence is None else None
                continue
            texts = []
            if fence is not None:
                # in a shell block every dbbench line runs; in output, only a "$ " prompt's
                match = (FENCED if fence in SHELL else PROMPTED).match(line)
                if match:
                    texts.append(match.group(1))
            else:
                texts.extend(INLINE.findall(line))
            for text in texts:
                found.extend((f"{path.relative_to(ROOT)}:{number}", c) for c in commands_in(text))
    top = click.Context(cli, info_name="dbbench")
    for name in cli.list_commands(top):
        for line in (cli.get_command(top, name).help or "").splitlines():
            match = FENCED.match(line)
            if match:
                found.extend((f"dbbench {name} --help", c) for c in commands_in(match.group(1)))
    return found


def parse(line: str) -> click.Context:
    """Parse ``line`` as the CLI would, without running the command.

    ``dbbench diff`` alone names a command, in prose: only the name is checked."""
    args = shlex.split(line)[1:]
    with cli.make_context("dbbench", args) as top:
        if len(args) == 1:
            name, command, _ = cli.resolve_command(top, args)
            return click.Context(command, info_name=name, parent=top)
        with warnings.catch_warnings():  # click 8.2+ deprecates protected_args, 9.0 drops it
            warnings.simplefilter("ignore", DeprecationWarning)
            tokens = [*getattr(top, "protected_args", []), *top.args]
        name, command, rest = cli.resolve_command(top, tokens)
        return command.make_context(name, rest, parent=top)


COMMAND_LINES = command_lines()


def test_the_docs_show_command_lines():
    # the scan itself works: the README's quick start alone has more than ten
    assert len([where for where, _ in COMMAND_LINES if where.startswith("README.md")]) > 10


@pytest.mark.parametrize(("where", "line"), COMMAND_LINES, ids=[w for w, _ in COMMAND_LINES])
def test_every_command_line_in_the_docs_parses(where, line):
    try:
        parse(line)
    except click.exceptions.Exit:
        pass  # --help, --version
    except click.UsageError as exc:
        pytest.fail(f"{where}: {line!r} does not parse: {exc.format_message()}")


def test_a_wrong_command_line_does_not_parse():
    with pytest.raises(click.UsageError, match="--pool-sise"):
        parse("dbbench compare --pool-sise 5")
    with pytest.raises(ConfigError, match="^--iterations = 'many': must be a whole number$"):
        parse("dbbench run --iterations many")


def test_the_cli_reference_is_up_to_date():
    status = Cog().main(["cog", "--check", "--verbosity=0", str(CLI_REFERENCE)])
    assert status == 0, "docs/reference/cli.md is out of date: run cog -r docs/reference/cli.md"


def test_the_cli_reference_has_every_command_and_option():
    reference = CLI_REFERENCE.read_text()
    top = click.Context(cli, info_name="dbbench")
    for name in cli.list_commands(top):
        command = cli.get_command(top, name)
        heading = f"## `dbbench {name}`"
        assert heading in reference, f"no section {heading}"
        section = reference.split(heading, 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            for opt in param.opts if isinstance(param, click.Option) else []:
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", section), (
                    f"dbbench {name}: {opt} is not in docs/reference/cli.md"
                )


def test_the_exit_status_table_is_exit_status():
    text = (ROOT / "docs" / "reference" / "exit-status.md").read_text()
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", text, re.MULTILINE)]
    assert documented == sorted(status.value for status in ExitStatus)


# --- every sample output is the docs-samples script's ---------------------------------

MEASUREMENTS = ROOT / "docs" / "measurements"
SAMPLE_START = re.compile(r"^<!-- sample ([\w-]+) -->$")
#: a line of dbbench's output: a prompted command, or an error
OUTPUT_LINE = re.compile(r"^\s*\$\s+(?:\w+=\S+\s+)*dbbench\s|^dbbench: error: ")


def _samples_script():
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader(
        "docs_samples", str(ROOT / "scripts/docs-samples")
    )
    spec = importlib.util.spec_from_loader("docs_samples", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_samples", module)  # its dataclasses look themselves up there
    loader.exec_module(module)
    return module


def output_blocks() -> list[tuple[str, str, str | None]]:
    """(where, its first line of output, the sample it sits in or None) for every fenced
    block of dbbench output in the docs (dated measurements apart: each names its command)."""
    found = []
    for path in DOCS:
        if path.is_relative_to(MEASUREMENTS):
            continue
        sample, fence, start, shows_output = None, None, 0, ""
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if fence is None and (match := SAMPLE_START.match(line)):
                sample = match.group(1)
            elif fence is None and line == "<!-- /sample -->":
                sample = None
            elif line.lstrip().startswith("```"):
                if fence is None:
                    fence, start, shows_output = line.strip()[3:], number, ""
                else:
                    if shows_output:
                        found.append((f"{path.relative_to(ROOT)}:{start}", shows_output, sample))
                    fence = None
            elif fence is not None and fence not in SHELL and OUTPUT_LINE.match(line):
                shows_output = shows_output or line
    return found


def test_every_sample_output_is_under_a_marker_the_script_fills():
    samples = _samples_script().SAMPLES
    blocks = output_blocks()
    assert len(blocks) >= 10
    outside = [where for where, _, sample in blocks if sample is None]
    assert not outside, f"sample output outside <!-- sample NAME --> markers: {outside}"
    unknown = [(where, sample) for where, _, sample in blocks if sample and sample not in samples]
    assert not unknown, f"markers that scripts/docs-samples has no row for: {unknown}"
