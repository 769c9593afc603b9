"""The documentation site: it builds strictly, its generated pages do not drift, and every
console block of every page (the site's and the study's own) runs against a baked example with
the exit codes and output it shows."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import typer
from studykit.checks.findings import REPORT_FORMAT

from docs.console import DOCS, TUTORIAL_ANSWERS, Reader, bake_example, commands
from docs.generate import pages
from tests.conftest import TEMPLATE, run_in_study

SCHEMA = DOCS / "reference" / "validation-report-1.schema.json"
STUDY_PAGES = TEMPLATE / "{{cookiecutter.project_slug}}"
# Every page a reader sees, the site's and the study's own (its docs/ and README), that shows commands.
PAGES = [
    p.relative_to(TEMPLATE).as_posix()
    for p in sorted([*DOCS.rglob("*.md"), *(STUDY_PAGES / "docs").glob("*.md"), STUDY_PAGES / "README.md"])
    if "_snippets" not in p.parts and commands(p.read_text(encoding="utf-8"))
]


def test_every_page_that_shows_commands_is_run():
    study = "{{cookiecutter.project_slug}}"
    assert {"docs/tutorial.md", "docs/reference/commands.md", f"{study}/docs/governance.md",
            f"{study}/docs/updating.md", f"{study}/README.md"} <= set(PAGES)  # fmt: skip


def study_on_an_older_template(tmp_path: Path) -> Path:
    """The example study baked with cruft from the template in git (v0.1.0), which then released v0.2.0:
    what updating.md starts from."""
    from tests.test_lifecycle import change_template, cruft_bake, git, template_repo

    repo = template_repo(tmp_path)
    study = cruft_bake(repo, tmp_path / "out", **TUTORIAL_ANSWERS)
    change_template(repo)
    git(repo, "tag", "v0.2.0")
    return study


def folder_with_the_template(tmp_path: Path) -> Path:
    """An empty folder with the template at path/to/studykit: where the tutorial's first command bakes."""
    (tmp_path / "path" / "to").mkdir(parents=True)
    (tmp_path / "path" / "to" / "studykit").symlink_to(TEMPLATE, target_is_directory=True)
    return tmp_path


# Pages that start from something other than a freshly baked example study.
SETUPS = {
    "docs/tutorial.md": folder_with_the_template,
    "{{cookiecutter.project_slug}}/docs/updating.md": study_on_an_older_template,
}


@pytest.mark.parametrize("path", sorted(pages(), key=str), ids=lambda p: p.name)
def test_generated_reference_page_matches_the_code(path):
    assert path.read_text(encoding="utf-8") == pages()[path], "run `python -m docs.generate`"


def test_site_builds_strictly(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=TEMPLATE, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "study" / "validation.html").is_file()  # the study's own pages, one copy
    assert (tmp_path / "site" / "reference" / "validation-report-1.schema.json").is_file()


@pytest.mark.parametrize("page", PAGES)
def test_console_blocks_run_as_shown(tmp_path, monkeypatch, page):
    for role in ("AUTHOR", "COMMITTER"):  # for the git commits a setup makes
        monkeypatch.setenv(f"GIT_{role}_NAME", "Docs Runner")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "docs-runner@example.org")
    shown = commands((TEMPLATE / page).read_text(encoding="utf-8"))
    installs = any("pip install" in command.line for command in shown)
    start = SETUPS.get(page, bake_example)(tmp_path)
    reader = Reader(start, venv=tmp_path / "reader-venv" if installs else None)
    for command in shown:
        code, output = reader.run(command.line)
        assert code == command.exit_code, f"{page}: `{command.line}` exited {code}:\n{output}"
        if command.output is not None:
            assert output == command.output, f"{page}: `{command.line}` printed otherwise (docs-capture)"


def test_console_runner_sees_exit_codes_and_output():
    page = "```console\n$ studykit validate  # exit 1\nline one\nline two\n$ nox -s tests\n$ studykit info\n"
    page += "$ studykit template check  # exit 2: cannot tell\n"
    page += "$ studykit consent add P001 \\\n    --on 2024-09-02  # a comment\n```\n"
    assert [(c.line, c.exit_code, c.output) for c in commands(page)] == [
        ("studykit validate", 1, "line one\nline two"), ("nox -s tests", 0, None), ("studykit info", 0, None),
        ("studykit template check", 2, None),
        ("studykit consent add P001 --on 2024-09-02  # a comment", 0, None),
    ]  # fmt: skip


def test_validation_report_schema_is_the_reports_format():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["format"]["const"] == REPORT_FORMAT
    assert SCHEMA.name == f"validation-report-{REPORT_FORMAT.rsplit('/', 1)[1]}.schema.json"


def test_a_real_validation_report_matches_the_schema(tmp_path):
    study = bake_example(tmp_path)
    (study / "data" / "participants.csv").write_text(
        (study / "data" / "participants.csv").read_text(encoding="utf-8").replace("P002,", "P2,", 1),
        encoding="utf-8",
    )  # one error, so the report holds an error finding beside the example's warnings
    done = run_in_study(study, "-m", "studykit", "validate", "--format", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert report["counts"]["error"] >= 1
    jsonschema.validate(report, json.loads(SCHEMA.read_text(encoding="utf-8")),
                        cls=jsonschema.Draft202012Validator)  # fmt: skip


def test_validation_report_schema_rejects_a_report_without_findings():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    report = {"format": REPORT_FORMAT, "valid": True, "counts": {"error": 0, "warning": 0, "info": 0},
              "checked": [], "skipped": {}, "not_run": {}, "not_checked": [], "engines": {}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="findings"):
        jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


def test_links_point_at_the_study_pages_in_the_site():
    from docs.hooks import rewrite_links

    slug = "{{cookiecutter.project_slug}}"
    assert rewrite_links(f"[v](<../{slug}/docs/validation.md>)", "index.md") == "[v](study/validation.md)"
    assert rewrite_links(f"[g](../../{slug}/docs/governance.md#erasure)", "howto/data-managers.md") == (
        "[g](../study/governance.md#erasure)"
    )
    assert rewrite_links("[r](rules.md) [t](../../docs/tutorial.md)", "study/validation.md") == (
        "[r](rules.md) [t](../tutorial.md)"
    )


def test_links_to_study_files_outside_the_pages_become_their_text():
    from docs.hooks import rewrite_links

    page = "[`checks/structure.py`](../src/studykit/checks/structure.py) and [web](https://quarto.org)"
    assert rewrite_links(page, "study/rules.md") == "`checks/structure.py` and [web](https://quarto.org)"


def test_every_rule_has_an_example_and_it_is_what_validate_reports(tmp_path):
    """The catalogue's examples (docs/_snippets/rule-examples.json) are captured, not typed: each break
    run again on a fresh example gives the same finding, and no rule lacks one."""
    from studykit.checks import load_rules

    from docs.rule_examples import capture, load_breaks, recorded

    assert sorted(load_breaks()) == sorted(load_rules()), "each rule code needs a break in docs/rule_examples"
    study = bake_example(tmp_path / "baked")
    assert capture(study, tmp_path / "broken") == recorded(), "run `python -m docs.rule_examples`"


# --- commands named in the prose ---------------------------------------------------------------------

MENTIONED = re.compile(r"`((?:studykit|nox -s) [^`]*|studykit)`")
STUDY_NOXFILE = STUDY_PAGES / "noxfile.py"


def _sessions(noxfile: Path) -> set[str]:
    """The session names a noxfile defines (a ``name=`` given to ``@nox.session``, else the function's)."""
    names = set()
    for node in ast.walk(ast.parse(noxfile.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if "nox.session" in ast.unparse(decorator):
                    given = [k.value for k in getattr(decorator, "keywords", []) if k.arg == "name"]
                    names.add(given[0].value if given else node.name)  # type: ignore[attr-defined]
    return names


def _mention_problems(mention: str, sessions: set[str]) -> list[str]:
    """What in one `studykit ...` or `nox -s ...` mention names no command, option or session."""
    from studykit.cli import app

    if mention.startswith("nox -s "):
        name = mention.split()[2]
        return [] if name in sessions else [f"no nox session {name!r}"]
    root = typer.main.get_command(app)
    problems: list[str] = []
    first, *alternatives = mention.split(" / ")
    for words in [first.split(), *([*first.split()[:-1], *alt.split()] for alt in alternatives)]:
        command = root
        for word in (w.strip("[]") for w in words[1:]):
            if word.startswith("-"):
                option = word.split("=")[0]
                known = {o for p in [*command.params, *root.params] for o in [*p.opts, *p.secondary_opts]}
                if option not in known | {"--help"}:
                    problems.append(f"{' '.join(words)}: no option {option}")
            elif getattr(command, "commands", None) and word in command.commands:
                command = command.commands[word]
            elif getattr(command, "commands", None) and word.islower():
                problems.append(f"{' '.join(words)}: no command {word!r}")
                break
    return problems


def test_commands_options_and_sessions_named_in_the_prose_exist():
    """Prose names commands (`studykit consent erase P033 --apply`) and sessions (`nox -s report`) outside
    console blocks; each must name a real command, option and session, so a renamed one fails here."""
    pages = [*DOCS.rglob("*.md"), TEMPLATE / "README.md", *(STUDY_PAGES / "docs").glob("*.md"),
             STUDY_PAGES / "README.md"]  # fmt: skip
    # The study's pages name the template's sessions too (`nox -s bench`, in the template repository).
    sessions = _sessions(STUDY_NOXFILE) | _sessions(TEMPLATE / "noxfile.py")
    problems, seen = [], 0
    for page in pages:
        for mention in MENTIONED.findall(page.read_text(encoding="utf-8")):
            seen += 1
            problems += [f"{page.relative_to(TEMPLATE)}: {p}" for p in _mention_problems(mention, sessions)]
    assert seen > 150
    assert not problems, "\n".join(problems)


def test_a_misnamed_command_option_or_session_is_caught():
    assert _mention_problems("studykit consent erase P033 --apply --by NAME", {"report"}) == []
    assert _mention_problems("studykit consent add / withdraw / status", set()) == []
    assert _mention_problems("studykit consent remove P033", set()) == [
        "studykit consent remove P033: no command 'remove'"
    ]
    assert _mention_problems("studykit validate --strict", set()) == [
        "studykit validate --strict: no option --strict"
    ]
    assert _mention_problems("nox -s reports", {"report"}) == ["no nox session 'reports'"]
