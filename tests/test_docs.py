"""The documentation site: it builds strictly, its generated pages do not drift, and every
``$ studykit`` command it shows runs against a baked example with the exit code and output shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest
from studykit.checks.findings import REPORT_FORMAT

from docs.console import DOCS, bake_example, commands, run
from docs.generate import pages
from tests.conftest import TEMPLATE, run_in_study

SCHEMA = DOCS / "reference" / "validation-report-1.schema.json"
# Pages whose console blocks run in the test: the tutorial and the reference.
RUNNABLE = ["tutorial.md", *sorted(p.relative_to(DOCS).as_posix() for p in (DOCS / "reference").glob("*.md")
                                   if commands(p.read_text(encoding="utf-8")))]  # fmt: skip


def test_the_tutorial_and_the_command_reference_show_commands():
    assert {"tutorial.md", "reference/commands.md"} <= set(RUNNABLE)


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


@pytest.mark.parametrize("page", RUNNABLE)
def test_console_blocks_run_as_shown(tmp_path, page):
    shown = commands((DOCS / page).read_text(encoding="utf-8"))
    study = bake_example(tmp_path)
    for command in shown:
        code, output = run(study, command.line)
        assert code == command.exit_code, f"{page}: `{command.line}` exited {code}:\n{output}"
        if command.output is not None:
            assert output == command.output, f"{page}: `{command.line}` printed otherwise (docs-capture)"


def test_console_runner_sees_exit_codes_and_output():
    page = "```console\n$ studykit validate  # exit 1\nline one\nline two\n$ nox -s tests\n$ studykit info\n"
    page += "$ studykit consent add P001 \\\n    --on 2024-09-02  # a comment\n```\n"
    assert [(c.line, c.exit_code, c.output) for c in commands(page)] == [
        ("studykit validate", 1, "line one\nline two"), ("studykit info", 0, None),
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
