"""The docs' console blocks as data: read them from a page, run them in a baked study.

A console block is a fenced ```` ```console ```` block. Each ``$ studykit ...`` line is a
command (continued on the next line after a ``\\``; a ``#`` starts a comment); the lines
after it, up to the next ``$`` line, are its output as the terminal shows it (stdout and
stderr together). A command that exits non-zero says so at the end
of its line: ``$ studykit validate  # exit 1``. ``docs/capture.py`` writes such blocks
from real runs; ``tests/test_docs.py`` runs every block of the tutorial and the reference
against a freshly baked example study and compares exit codes and output.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

DOCS = Path(__file__).resolve().parent
TEMPLATE = DOCS.parent
SNIPPETS = DOCS / "_snippets"
EXAMPLE_SLUG = "example-study"
WIDTH = "88"
# Settings that would make the terminal output differ from the captured one (rich reads them).
FORCED = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "LINES", "COLORTERM")
FENCE = re.compile(r"^```console\n(.*?)^```$", re.DOTALL | re.MULTILINE)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)
EXIT = re.compile(r"\s+# exit (\d+)$")
CONTINUED = re.compile(r"\s*\\\n\s*")  # a command continued on the next line


@dataclass(frozen=True)
class Command:
    """One ``$ studykit`` line of a console block and what the docs show it printing."""

    line: str  # without "$ " and without the "# exit N" note
    exit_code: int
    output: str | None  # None when the docs show no output



def resolve_snippets(markdown: str) -> str:
    """The page as the site shows it: each ``--8<-- "name"`` line replaced by the snippet."""
    return SNIPPET.sub(lambda m: (SNIPPETS / m[1]).read_text(encoding="utf-8").rstrip("\n"), markdown)


def commands(markdown: str) -> list[Command]:
    """Every ``$ studykit`` command of every console block, in page order."""
    found: list[Command] = []
    for block in FENCE.findall(resolve_snippets(markdown)):
        lines = CONTINUED.sub(" ", block).rstrip("\n").split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for n, start in enumerate(starts):
            line = lines[start][2:]
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            if not line.startswith("studykit"):
                continue
            note = EXIT.search(line)
            shown = "\n".join(lines[start + 1 : end])
            found.append(Command(
                line=line[: note.start()] if note else line,
                exit_code=int(note[1]) if note else 0,
                output=shown if shown.strip() else None,
            ))  # fmt: skip
    return found


# The tutorial's answers: the defaults, with a team and institution filled in (a deposit refuses
# the default placeholders). Neither names a real person or institution.
TUTORIAL_ANSWERS = {
    "project_slug": EXAMPLE_SLUG,
    "principal_investigator": "Synthetic Study Team",
    "institution": "Synthetic Example Institute",
}


def bake_example(into: Path) -> Path:
    """The example study, baked as the tutorial bakes it."""
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(into), extra_context=TUTORIAL_ANSWERS)
    )


def run(study: Path, line: str) -> tuple[int, str]:
    """Run one ``studykit ...`` line in the study with its own studykit: exit code and output."""
    argv = shlex.split(line, comments=True)
    env = {
        **os.environ, "PYTHONPATH": str(study / "src"), "COLUMNS": WIDTH, "NO_COLOR": "1",
        "TERM": "dumb", "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
        # A fixed build date, so that what a deposit or the results print does not change daily.
        "SOURCE_DATE_EPOCH": "1767225600",
    }  # fmt: skip
    for setting in FORCED:
        env.pop(setting, None)
    done = subprocess.run(
        [sys.executable, "-m", "studykit", *argv[1:]], cwd=study, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, encoding="utf-8", check=False, timeout=600,
    )  # fmt: skip
    return done.returncode, normalise(done.stdout, study)


def normalise(output: str, study: Path) -> str:
    """Output as the docs show it: no trailing spaces, the temporary folder's path left out."""
    output = output.replace(str(study.resolve()), EXAMPLE_SLUG).replace(str(study), EXAMPLE_SLUG)
    return "\n".join(line.rstrip() for line in output.rstrip("\n").split("\n"))


def block(results: list[tuple[str, int, str]]) -> str:
    """A console block showing commands with their exit notes and output."""
    lines = ["```console"]
    for line, code, output in results:
        lines.append(f"$ {line}" + (f"  # exit {code}" if code else ""))
        if output:
            lines.append(output)
    return "\n".join([*lines, "```"]) + "\n"
