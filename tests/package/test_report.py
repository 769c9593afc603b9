"""The report's render half: the lint of the pages, the labelled pandoc preview, Quarto, the command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from studykit.cli import app
from studykit.errors import DataErrorsFound, MissingToolError
from studykit.report import lint_reports, make_report
from studykit.report_preview import render_preview
from studykit.study import load_study
from typer.testing import CliRunner

from tests.conftest import PACKAGE_SRC
from tests.package.designs import design
from tests.package.report_fixture import FIGURES, TABLES, VARIABLES, write_results_fixture

TEMPLATE_REPORTS = PACKAGE_SRC.parent / "reports"
PAGES = ["index", "quantitative", "qualitative", "integration", "involvement", "checklists"]
runner = CliRunner()


def make_report_study(tmp_path: Path, *, results: bool = True, published: bool = True) -> Path:
    """A study with the template's reports/ folder and, unless told not to, a _results fixture."""
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design()), encoding="utf-8")
    shutil.copytree(TEMPLATE_REPORTS, tmp_path / "reports")
    if results:
        write_results_fixture(tmp_path / "reports", published=published)
    return tmp_path


def edit(page: Path, old: str, new: str) -> None:
    text = page.read_text(encoding="utf-8")
    assert old in text
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


def without_quarto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without any quarto (pandoc comes from the pypandoc-binary wheel, not PATH)."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- the template's project ---------------------------------------------------------------------


def test_quarto_project_declares_the_version_the_pages_and_site():
    config = yaml.safe_load((TEMPLATE_REPORTS / "_quarto.yml").read_text(encoding="utf-8"))
    assert config["quarto-required"] == ">=1.7"
    assert config["project"]["output-dir"] == "_site"
    assert config["project"]["render"] == [f"{page}.qmd" for page in PAGES]


def test_pages_hold_no_code_cells():
    for page in TEMPLATE_REPORTS.glob("*.qmd"):
        assert not re.search(r"^```\s*\{", page.read_text(encoding="utf-8"), re.MULTILINE), page.name


def test_study_gitignore_keeps_every_report_product_out():
    ignored = (PACKAGE_SRC.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    for entry in ("reports/_site/", "reports/_preview/", "reports/_results/", "reports/_variables.yml",
                  "reports/.quarto/"):
        assert entry in ignored


# --- the lint -----------------------------------------------------------------------------------


def test_template_pages_pass_the_lint_on_the_contracted_results(tmp_path):
    lint = lint_reports(make_report_study(tmp_path) / "reports")
    assert lint.problems == ()
    assert lint.pages == tuple(f"{page}.qmd" for page in PAGES)


def test_every_contracted_table_and_figure_is_used_by_a_page():
    text = "\n".join(p.read_text(encoding="utf-8") for p in TEMPLATE_REPORTS.glob("*.qmd"))
    for table_id in [*TABLES, "published"]:
        assert f"_results/tbl-{table_id}.md" in text
    for figure_id in FIGURES:
        assert f"_results/fig-{figure_id}.md" in text


def test_lint_without_results_names_the_missing_variables_file_and_includes(tmp_path):
    lint = lint_reports(make_report_study(tmp_path, results=False) / "reports")
    codes = {(p.code, p.file) for p in lint.problems}
    assert ("REP003", "reports/_variables.yml") in codes
    assert ("REP002", "reports/quantitative.qmd") in codes
    assert not lint.valid


@pytest.mark.parametrize(
    ("page", "old", "new", "code", "line", "words"),
    [
        ("index.qmd", 'title: "Summary"', "title: [unclosed", "REP001", 1, "not valid YAML"),
        ("index.qmd", 'title: "Summary"', "author: someone", "REP001", 1, "no title"),
        ("index.qmd", "{{< var n.enrolled >}}", "{{< var n.enroled >}}", "REP003", 11, "n.enroled"),
        ("integration.qmd", "(@tbl-joint-display)", "(@tbl-joint)", "REP004", 5, "@tbl-joint,"),
        ("quantitative.qmd", "@fig-employment and", "@fig-flow and", "REP004", 42, "@fig-flow"),
    ],
)
def test_lint_finds_each_kind_of_problem_where_it_is(tmp_path, page, old, new, code, line, words):
    reports = make_report_study(tmp_path) / "reports"
    edit(reports / page, old, new)
    problems = lint_reports(reports).problems
    assert [(p.code, p.file, p.line) for p in problems] == [(code, f"reports/{page}", line)]
    assert words in problems[0].message


def test_a_missing_include_is_named_and_so_is_the_reference_it_would_have_labelled(tmp_path):
    reports = make_report_study(tmp_path) / "reports"
    edit(reports / "qualitative.qmd", "_results/tbl-codebook.md", "_results/tbl-codes.md")
    problems = lint_reports(reports).problems
    assert [(p.code, p.file, p.line) for p in problems] == [
        ("REP002", "reports/qualitative.qmd", 9), ("REP004", "reports/qualitative.qmd", 7)
    ]
    assert "includes a file that does not exist: _results/tbl-codes.md" in problems[0].message


def test_lint_names_a_missing_figure_file_in_the_included_figure_line(tmp_path):
    reports = make_report_study(tmp_path) / "reports"
    (reports / "_results" / "fig-trajectories.svg").unlink()
    problems = lint_reports(reports).problems
    where = [(p.code, p.file, p.line) for p in problems]
    assert where == [("REP005", "reports/_results/fig-trajectories.md", 1)]


def test_a_page_without_a_published_table_still_passes(tmp_path):
    reports = make_report_study(tmp_path, published=False) / "reports"
    assert lint_reports(reports).valid


# --- the preview --------------------------------------------------------------------------------


def preview(tmp_path: Path, **options: bool) -> Path:
    reports = make_report_study(tmp_path, **options) / "reports"
    render_preview(reports, reason="Quarto was not found on PATH")
    return reports / "_preview"


def test_preview_writes_one_page_per_qmd_and_the_figures_beside_them(tmp_path):
    output = preview(tmp_path)
    assert sorted(p.name for p in output.glob("*.html")) == sorted(f"{page}.html" for page in PAGES)
    for figure_id in FIGURES:
        assert (output / "_results" / f"fig-{figure_id}.svg").is_file()
        assert (output / "_results" / f"fig-{figure_id}.png").is_file()
    assert not (tmp_path / "reports" / "_site").exists()


def test_preview_numbers_tables_and_figures_per_page_and_links_the_references(tmp_path):
    page = (preview(tmp_path) / "quantitative.html").read_text(encoding="utf-8")
    assert '<a href="#tbl-sample">Table 1</a>' in page
    assert '<span id="tbl-sample">Table 1</span>: Sample characteristics by' in page
    assert '<a href="#tbl-change">Table 4</a>' in page  # sample, scores, published, change
    assert '<a href="#fig-trajectories">Figure 1</a>' in page
    assert '<figure id="fig-employment">' in page
    assert "Figure 2: Employment status per wave" in page
    for left in ("@fig-", "@tbl-", "{{<"):
        assert left not in page


def test_preview_figures_carry_their_alt_text(tmp_path):
    page = (preview(tmp_path) / "index.html").read_text(encoding="utf-8")
    assert f'<img src="_results/fig-flow.svg" alt="{FIGURES["flow"][1]}" />' in page


def test_preview_keeps_alt_text_with_quotes_and_braces(tmp_path):
    reports = make_report_study(tmp_path) / "reports"
    figure = reports / "_results" / "fig-flow.md"
    figure.write_text('![Flow](_results/fig-flow.svg){#fig-flow fig-alt="24 \\"enrolled\\" {all} & <b>"}\n',
                      encoding="utf-8")
    render_preview(reports, reason="test")
    page = (reports / "_preview" / "index.html").read_text(encoding="utf-8")
    assert 'alt="24 &quot;enrolled&quot; {all} &amp; &lt;b&gt;"' in page


def test_preview_expands_variables_as_text(tmp_path):
    page = (preview(tmp_path) / "index.html").read_text(encoding="utf-8")
    assert f"{VARIABLES['n']['enrolled']} participants were enrolled" in page
    assert VARIABLES["study"]["title"] in page
    assert VARIABLES["provenance"]["generated"] in page


def test_a_variable_is_never_markup_or_a_shortcode(tmp_path):
    reports = make_report_study(tmp_path) / "reports"
    variables = yaml.safe_load((reports / "_variables.yml").read_text(encoding="utf-8"))
    variables["study"]["title"] = "<script>alert(1)</script> *x* {{< include /etc/hostname >}} @fig-flow"
    (reports / "_variables.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    render_preview(reports, reason="test")
    page = (reports / "_preview" / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *x* {{&lt; include /etc/hostname &gt;}} @fig-flow" in page
    assert "<script>alert" not in page


def test_every_preview_page_carries_the_banner_and_the_navigation(tmp_path):
    output = preview(tmp_path)
    for name in PAGES:
        page = (output / f"{name}.html").read_text(encoding="utf-8")
        assert "Preview, not the Quarto report" in page
        assert "Quarto was not found on PATH" in page
        assert "pip install quarto-cli" in page
        assert f'<a href="{name}.html" aria-current="page">' in page
        assert page.count('<li><a href="') == len(PAGES)
        assert 'lang="en"' in page


def test_preview_styles_callouts_with_their_title(tmp_path):
    page = (preview(tmp_path) / "quantitative.html").read_text(encoding="utf-8")
    assert '<div class="callout callout-note">' in page
    assert '<span class="callout-title">Note: Effect sizes and multiple comparisons</span>' in page


def test_preview_refuses_pages_with_problems(tmp_path):
    reports = make_report_study(tmp_path) / "reports"
    edit(reports / "index.qmd", "{{< var n.waves >}}", "{{< var n.wave >}}")
    with pytest.raises(DataErrorsFound, match=r"reports/index\.qmd:\d+: REP003"):
        render_preview(reports, reason="test")
    assert not (reports / "_preview").exists()


# --- making the report: results first, then Quarto or the preview --------------------------------


def test_make_report_computes_the_results_then_previews_without_quarto(tmp_path, monkeypatch):
    study = load_study(make_report_study(tmp_path, results=False))
    without_quarto(monkeypatch, tmp_path)
    calls = []

    def write_results(given):  # the contract: studykit.results.write_results(study) writes reports/
        calls.append(given)
        write_results_fixture(given.root / "reports")

    fake = types.SimpleNamespace(write_results=write_results)
    monkeypatch.setitem(sys.modules, "studykit.results", fake)
    built = make_report(study)
    assert calls == [study]
    assert built.renderer == "preview"
    assert built.index == tmp_path / "reports" / "_preview" / "index.html"
    assert built.index.is_file()


def test_asking_for_quarto_without_it_says_how_to_install_it(tmp_path, monkeypatch):
    study = load_study(make_report_study(tmp_path))
    without_quarto(monkeypatch, tmp_path)
    hint = r"Quarto is not on PATH\. Install Quarto .*pip install quarto-cli"
    with pytest.raises(MissingToolError, match=hint):
        make_report(study, compute=False, renderer="quarto")


def test_report_command_says_on_stderr_that_it_wrote_a_preview(tmp_path, monkeypatch):
    study = make_report_study(tmp_path)
    without_quarto(monkeypatch, tmp_path)
    result = runner.invoke(app, ["report", "-C", str(study), "--skip-results"], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "Quarto was not found on PATH: this is a PREVIEW made with pandoc, not the Quarto report" in (
        result.stderr
    )
    assert f"open {(study / 'reports' / '_preview' / 'index.html').as_posix()}" in result.stderr
    assert result.stdout == ""


def test_report_refuses_to_render_pages_with_problems_exit_1(tmp_path, monkeypatch):
    study = make_report_study(tmp_path)
    without_quarto(monkeypatch, tmp_path)
    (study / "reports" / "_results" / "tbl-themes.md").unlink()
    result = runner.invoke(app, ["report", "-C", str(study), "--skip-results"], terminal_width=300)
    assert result.exit_code == 1
    assert "reports/qualitative.qmd:" in result.stderr
    assert "includes a file that does not exist: _results/tbl-themes.md" in result.stderr
    assert not (study / "reports" / "_preview").exists()


def test_report_check_lists_problems_and_exits_1(tmp_path):
    study = make_report_study(tmp_path)
    edit(study / "reports" / "checklists.qmd", "@tbl-gramms", "@tbl-grams")
    result = runner.invoke(app, ["report", "-C", str(study), "--check"], terminal_width=300)
    assert result.exit_code == 1
    assert result.stdout.startswith("reports/checklists.qmd:6: REP004 refers to @tbl-grams")
    assert "Checked 6 page(s) of reports/: 1 problem(s)." in result.stderr


def test_report_check_json_is_the_lint(tmp_path):
    study = make_report_study(tmp_path)
    result = runner.invoke(app, ["report", "-C", str(study), "--check", "--format", "json"])
    assert result.exit_code == 0
    pages = [f"{page}.qmd" for page in PAGES]
    assert json.loads(result.stdout) == {"reports": (study / "reports").as_posix(), "pages": pages,
                                         "valid": True, "problems": []}  # fmt: skip


QUARTO = shutil.which("quarto")


@pytest.mark.skipif(QUARTO is None, reason="Quarto is not on PATH on this machine: install it (quarto.org, "
                    "or pip install quarto-cli) to render the report with real Quarto")
def test_quarto_renders_the_report_into_site(tmp_path):
    study = load_study(make_report_study(tmp_path))
    built = make_report(study, compute=False, renderer="quarto")
    assert built.renderer == "quarto"
    page = (tmp_path / "reports" / "_site" / "quantitative.html").read_text(encoding="utf-8")
    assert "Table&nbsp;1" in page or "Table 1" in page
    assert "{{<" not in page
    assert not (tmp_path / "reports" / "_preview").exists()


def test_python_m_studykit_report_check(tmp_path):
    study = make_report_study(tmp_path)
    run = subprocess.run([sys.executable, "-m", "studykit", "report", "--check"], cwd=study,
                         capture_output=True, text=True, check=False,
                         env={"PYTHONPATH": str(PACKAGE_SRC), "PATH": ""})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert "no problems" in run.stderr
