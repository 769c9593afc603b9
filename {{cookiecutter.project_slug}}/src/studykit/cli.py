"""The ``studykit`` command line: one thin command per job.

Each command parses its options, calls one library function and hands the result
to a renderer. ``_run`` is the single error boundary: exit 0 when clean (or only
warnings), 1 when the data have errors, 2 when the command could not run; one
sentence on stderr, a traceback only with ``--debug``. The product (a report, a
table, JSON) goes to stdout, the conversation to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from studykit import __version__
from studykit.errors import StudykitError
from studykit.study import Study, load_study

out = Console()
err = Console(stderr=True)

app = typer.Typer(
    name="studykit",
    help="Run, check and archive a reproducible mixed-methods study.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

StudyDir = Annotated[
    Path, typer.Option("--study-dir", "-C", help="The study folder (holds study.yml).", show_default=False)
]
Format = Annotated[Literal["text", "json"], typer.Option("--format", help="Output format for the product.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show a traceback when a command fails.")]


def _run(action: Callable[[], int | None], *, debug: bool = False) -> None:
    """Run a command body and map its outcome to an exit code."""
    try:
        code = action() or 0
    except StudykitError as exc:
        if debug:
            err.print_exception()
        err.print(f"[bold red]Could not run:[/] {exc.sentence()}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def _study(study_dir: Path) -> Study:
    return load_study(study_dir)


def _version(value: bool) -> None:
    if value:
        out.print(f"studykit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run, check and archive a reproducible mixed-methods study."""


@app.command()
def info(study_dir: StudyDir = Path(), fmt: Format = "text", debug: Debug = False) -> None:
    """Show the study's design from study.yml: waves, instruments, strands."""
    from studykit._console import study_summary

    def body() -> None:
        study = _study(study_dir)
        if fmt == "json":
            out.print_json(study.model_dump_json())
        else:
            out.print(study_summary(study))

    _run(body, debug=debug)


# --- qual commands (qualitative strand) ---
# One shared sub-app for every `studykit qual ...` command. `import` and `export`
# (REFI-QDA / Taguette exchange) live in the block below; `import-docx` and
# `pseudonymise` are added to this same `qual_app` by their own block.
qual_app = typer.Typer(
    name="qual",
    help="Qualitative strand: transcripts, coding, REFI-QDA and Taguette exchange.",
    no_args_is_help=True,
)
app.add_typer(qual_app, name="qual")
# --- end qual sub-app ---


def main() -> None:
    """Entry point for ``studykit`` and ``python -m studykit``."""
    app(prog_name="studykit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
