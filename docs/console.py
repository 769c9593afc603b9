"""The docs' console blocks as data: read them from a page, run them in a baked study.

A console block is a fenced ```` ```console ```` block. Each ``$ ...`` line is a command
(continued on the next line after a ``\\``; a ``#`` starts a comment), run by bash in the
study as a reader would type it: ``studykit`` is the study's own, ``nox``, ``git`` and
shell operators (``&&``, ``>``) are real. The lines after a command, up to the next ``$``
line, are its output as the terminal shows it (stdout and stderr together). A command that
exits non-zero says so in its comment: ``$ studykit validate  # exit 1`` (words may follow
the number). ``docs/capture.py`` writes such output from real runs; ``tests/test_docs.py``
runs every console block of every page (the site's and the study's own pages) against a
freshly baked example study and compares exit codes and output.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
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
EXIT = re.compile(r"\s+# exit (\d+)\b.*$")
CONTINUED = re.compile(r"\s*\\\n\s*")  # a command continued on the next line


@dataclass(frozen=True)
class Command:
    """One ``$`` line of a console block and what the docs show it printing."""

    line: str  # without "$ " and without the "# exit N" note
    exit_code: int
    output: str | None  # None when the docs show no output



def resolve_snippets(markdown: str) -> str:
    """The page as the site shows it: each ``--8<-- "name"`` line replaced by the snippet."""
    return SNIPPET.sub(lambda m: (SNIPPETS / m[1]).read_text(encoding="utf-8").rstrip("\n"), markdown)


def commands(markdown: str) -> list[Command]:
    """Every command of every console block, in page order."""
    found: list[Command] = []
    for block in FENCE.findall(resolve_snippets(markdown)):
        lines = CONTINUED.sub(" ", block).rstrip("\n").split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for n, start in enumerate(starts):
            line = lines[start][2:]
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
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


def _shims() -> Path:
    """A folder with a ``studykit`` command that runs the study's own package (``src/``), as an
    installed study's entry point does."""
    shims = Path(tempfile.mkdtemp(prefix="studykit-docs-"))
    command = shims / "studykit"
    command.write_text(f'#!/bin/sh\nPYTHONPATH="$PWD/src" exec "{sys.executable}" -m studykit "$@"\n')
    command.chmod(0o755)
    return shims


@functools.cache
def _path() -> str:
    """PATH for the commands: the shim first, then this machine's PATH without Quarto, so that the
    report commands show what a machine without Quarto shows (as CI is), whatever this one has."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    kept = [d for d in dirs if d and not (Path(d) / "quarto").exists()]
    return os.pathsep.join([str(_shims()), *kept])


class Reader:
    """A reader's terminal in ``where``: each command runs with bash, a ``cd`` line moves the
    folder the next commands run in, and with ``venv`` the reader has a Python environment of
    their own (created with pip in it, first on PATH) for the ``pip install`` lines a page shows,
    so nothing a page installs touches the environment running the tests."""

    def __init__(self, where: Path, *, venv: Path | None = None) -> None:
        self.where = where
        self.path = _path()
        if venv is not None:
            command = ["uv", "venv", "--seed", "--quiet", "--python", sys.executable, str(venv)]
            subprocess.run(command, check=True, timeout=600)
            self.path = os.pathsep.join([str(venv / "bin"), self.path])

    def run(self, line: str) -> tuple[int, str]:
        """Run one command line as the docs show it: exit code and output."""
        if (cd := re.fullmatch(r"cd (\S+)(\s+#.*)?", line)) is not None:
            target = (self.where / cd[1]).resolve()
            if not target.is_dir():
                return 1, f"cd: {cd[1]}: No such file or directory"
            self.where = target
            return 0, ""
        env = {
            **os.environ, "PATH": self.path, "COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb",
            "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
            # A fixed build date, so that what a deposit or the results print does not change daily.
            "SOURCE_DATE_EPOCH": "1767225600",
            # Who commits when a page shows `git commit` (this machine may have no git identity).
            "GIT_AUTHOR_NAME": "Docs Runner", "GIT_AUTHOR_EMAIL": "docs-runner@example.org",
            "GIT_COMMITTER_NAME": "Docs Runner", "GIT_COMMITTER_EMAIL": "docs-runner@example.org",
        }  # fmt: skip
        for setting in (*FORCED, "VIRTUAL_ENV", "PYTHONPATH", "NOX_CURRENT_SESSION"):
            env.pop(setting, None)
        done = subprocess.run(
            ["bash", "-c", line], cwd=self.where, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", check=False, timeout=900,
        )  # fmt: skip
        return done.returncode, normalise(done.stdout, self.where)


def run(study: Path, line: str) -> tuple[int, str]:
    """Run one command line in the study as the docs show it: exit code and output."""
    return Reader(study).run(line)


def normalise(output: str, study: Path) -> str:
    """Output as the docs show it: no trailing spaces, the temporary folder's path left out."""
    output = output.replace(str(study.resolve()), EXAMPLE_SLUG).replace(str(study), EXAMPLE_SLUG)
    return "\n".join(line.rstrip() for line in output.rstrip("\n").split("\n"))


def refresh(markdown: str, reader: Reader) -> str:
    """The page with every console block run in order and the output it shows replaced by what the
    command prints now. A command the page shows without output stays without; commands and
    their comments are kept as written."""

    def one_block(match: re.Match[str]) -> str:
        lines = match[1].rstrip("\n").split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            start = i
            while lines[i].endswith("\\") and i + 1 < len(lines):
                i += 1
            written = lines[start : i + 1]
            i += 1
            shown = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
            out.extend(written)
            if not written[0].startswith("$ "):
                out.extend(shown)
                continue
            command = CONTINUED.sub(" ", "\n".join(written))[2:]
            note = EXIT.search(command)
            _, output = reader.run(command[: note.start()] if note else command)
            if any(line.strip() for line in shown) and output:
                out.append(output)
        return "```console\n" + "\n".join(out) + "\n```"

    return FENCE.sub(one_block, markdown)


def block(results: list[tuple[str, int, str]]) -> str:
    """A console block showing commands with their exit notes and output."""
    lines = ["```console"]
    for line, code, output in results:
        lines.append(f"$ {line}" + (f"  # exit {code}" if code else ""))
        if output:
            lines.append(output)
    return "\n".join([*lines, "```"]) + "\n"
