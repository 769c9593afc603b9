"""Capture the tutorial's terminal output from real runs: ``nox -s docs-capture``.

Bakes the example study into a temporary folder, runs each step's commands there in
order, and writes each step as a console block to ``docs/_snippets/tutorial/<step>.md``,
which docs/tutorial.md includes. Nothing in the tutorial's output is typed by hand;
``tests/test_docs.py`` runs the same commands again and fails when the output differs.
It also runs the console blocks of the study's own pages (its docs/ and README) that show
output, each page in a freshly baked example, and writes the output they print into the
page itself (a study's pages are read on GitHub too, where snippets are not included).
Last, it copies the report browser test's screenshots of the example's report (its home page
and the joint display; run ``pytest tests/package/test_report_browser.py`` first, as the nox
session does) into ``docs/assets/``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from docs.console import SNIPPETS, TEMPLATE, Reader, bake_example, block, commands, refresh, run

TUTORIAL = SNIPPETS / "tutorial"
REFERENCE = SNIPPETS / "reference"
MAX_SHOWN = 15  # longer output is left out of the reference (the test still checks the exit code)
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report-example"
ASSETS = Path(__file__).resolve().parent / "assets"
# The example report's pages the tutorial shows: its home page and the joint display.
SHOWN_PAGES = ("index", "integration")
STUDY = TEMPLATE / "{{cookiecutter.project_slug}}"

# Step -> the commands it runs, in the order the tutorial shows them (the state carries on).
STEPS: dict[str, list[str]] = {
    "info": ["studykit info"],
    "validate": ["studykit validate"],
    "consent": ["studykit consent status P033"],
    "accept": ["studykit validate --accept"],
    "score": ["studykit score --instrument wemwbs --output scores-wemwbs.csv"],
    "report": ["studykit report"],
    "deposit": ["studykit deposit --tier open", "studykit check-deposit deposit/example-study-0.1.0-open"],
    "erase": ["studykit consent erase P033"],
}
# Command -> its examples in the command reference, run in one fresh example study in the
# reference's order (docs/generate.py includes each as a snippet under its command).
EXAMPLES: dict[str, list[str]] = {
    "studykit": ["studykit --version"],
    "studykit validate": ["studykit validate --output validation-report.json"],
    "studykit rule": ["studykit rule STR016"],
    "studykit instruments": ["studykit instruments --format json"],
    "studykit score": ["studykit score --instrument cbi --output scores-cbi.csv"],
    "studykit codebook": ["studykit codebook --output codebook.md"],
    "studykit export": ["studykit export --to csv"],
    "studykit doctor": ["studykit doctor"],
    "studykit package sync": ["studykit package sync --check"],
    "studykit consent withdraw": [
        'studykit consent withdraw P007 --scope "no further data" --on 2025-03-01 --reason "Changed job" '
        '--by "A. Manager"',
    ],
    "studykit consent status": ["studykit consent status P001"],
    "studykit qual export": ["studykit qual export"],
    "studykit template check": ["studykit template check"],
    "studykit survey dictionary": ["studykit survey dictionary --to redcap --output redcap.csv"],
}


def snippet_name(command: str) -> str:
    """The snippet file of a command's examples: `studykit package sync` -> reference/package-sync.md."""
    return "reference/" + ("-".join(command.split()[1:]) or "studykit") + ".md"


def _shown(line: str, code: int, output: str) -> tuple[str, int, str]:
    return line, code, output if output.count("\n") < MAX_SHOWN else ""


def capture(study: Path) -> dict[str, str]:
    """Run every tutorial step in the study: step -> its console block."""
    return {step: block([(line, *run(study, line)) for line in lines]) for step, lines in STEPS.items()}


def capture_examples(study: Path, order: list[str]) -> dict[str, str]:
    """Run the reference's examples in the study in ``order``: snippet name -> console block."""
    return {
        snippet_name(command): block([_shown(line, *run(study, line)) for line in EXAMPLES[command]])
        for command in order if command in EXAMPLES
    }  # fmt: skip


def study_pages() -> list[Path]:
    """The study's own pages whose console blocks show output."""
    pages = [*sorted((STUDY / "docs").glob("*.md")), STUDY / "README.md"]
    return [p for p in pages if any(c.output for c in commands(p.read_text(encoding="utf-8")))]


def refresh_study_pages(tmp: Path) -> None:
    """Run each study page's console blocks in a fresh example and write the output into the page."""
    for n, page in enumerate(study_pages()):
        old = page.read_text(encoding="utf-8")
        new = refresh(old, Reader(bake_example(tmp / f"page-{n}")))
        if new != old:
            page.write_text(new, encoding="utf-8", newline="\n")
            sys.stdout.write(f"wrote {page.relative_to(TEMPLATE)}\n")


def main() -> int:
    from docs.generate import command_names

    with tempfile.TemporaryDirectory() as tmp:
        steps = capture(bake_example(Path(tmp) / "t"))
        blocks = {f"tutorial/{step}.md": text for step, text in steps.items()}
        blocks |= capture_examples(bake_example(Path(tmp) / "r"), command_names())
        refresh_study_pages(Path(tmp))
    for old in [*TUTORIAL.glob("*.md"), *REFERENCE.glob("*.md")]:
        if old.relative_to(SNIPPETS).as_posix() not in blocks:
            old.unlink()
    for name, text in blocks.items():
        path = SNIPPETS / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            sys.stdout.write(f"wrote {path.relative_to(SNIPPETS.parent.parent)}\n")
    sys.stdout.write(f"{len(blocks)} captured console blocks are up to date.\n")
    for page in SHOWN_PAGES:
        shot, asset = SCREENSHOTS / f"{page}.png", ASSETS / f"report-example-{page}.png"
        if not shot.is_file():
            sys.stdout.write(f"no screenshot at {shot}: run tests/package/test_report_browser.py first\n")
        elif not asset.is_file() or asset.read_bytes() != shot.read_bytes():
            shutil.copyfile(shot, asset)
            sys.stdout.write(f"copied {shot.name} to {asset}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
