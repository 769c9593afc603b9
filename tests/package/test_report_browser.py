"""The report preview in a real browser: Debian's chromium driven by Playwright, checked by axe-core.

Every page loads with no console error or failed request, shows every table (with a
caption and a header row) and every figure (loaded, with alt text), has no serious or
critical axe-core violation (WCAG 2.2 A/AA), and leaves a full-page screenshot in
``test-artifacts/report-preview/`` (git-ignored) for a person to look at.

Needs chromium and axe-core, which ``.ci/run`` installs when missing
(``apt-get install chromium``; ``npm install --prefix .ci/node axe-core@4``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from studykit.report_preview import render_preview

from tests.conftest import TEMPLATE, bake, run_in_study
from tests.package.nu_checker import nu_errors
from tests.package.test_report import PAGES, make_report_study

ARTIFACTS = TEMPLATE / "test-artifacts" / "report-preview"
# The example study's report as `studykit report` makes it: the tutorial shows these screenshots.
EXAMPLE_ARTIFACTS = TEMPLATE / "test-artifacts" / "report-example"
AXE = Path(os.environ.get("STUDYKIT_AXE", TEMPLATE / ".ci/node/node_modules/axe-core/axe.min.js"))
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
INCLUDE = re.compile(r"\{\{<\s*include\s+_results/(tbl|fig)-[\w-]+\.md\s*>\}\}")


def chromium() -> str:
    found = os.environ.get("STUDYKIT_CHROMIUM") or shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run .ci/run, or `apt-get install chromium` (Debian), "
                    "or set STUDYKIT_CHROMIUM to a Chromium or Chrome executable")  # fmt: skip
    return found


def axe_script() -> Path:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run .ci/run, or "
                    "`npm install --prefix .ci/node axe-core@4`, or set STUDYKIT_AXE to axe.min.js")
    return AXE


def expected(page: str) -> tuple[int, int]:
    """How many tables and figures the page includes (every fixture table has an id and caption)."""
    kinds = INCLUDE.findall((TEMPLATE / "{{cookiecutter.project_slug}}" / "reports" / f"{page}.qmd")
                            .read_text(encoding="utf-8"))  # fmt: skip
    return kinds.count("tbl"), kinds.count("fig")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reports = make_report_study(tmp_path_factory.mktemp("study")) / "reports"
    render_preview(reports, reason="Quarto was not found on PATH")
    return reports / "_preview"


@pytest.mark.parametrize("page", PAGES)
def test_preview_page_in_chromium(browser, site, page):
    axe = axe_script()
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    tab.goto((site / f"{page}.html").as_uri(), wait_until="load")

    tables, figures = expected(page)
    assert tab.locator("table").count() == tables
    assert tab.locator("table > caption").count() == tables
    assert tab.locator("table > thead th").count() >= tables
    for index in range(tables):
        assert tab.locator("table").nth(index).locator("thead th").count() > 0
    assert tab.locator("figure img").count() == figures
    for image in tab.locator("figure img").all():
        assert image.get_attribute("alt").strip()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert tab.get_by_text("Preview, not the Quarto report").is_visible()
    assert tab.locator("nav a").count() == len(PAGES)

    tab.add_script_tag(path=str(axe))
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{page}.png"), full_page=True)
    tab.close()
    assert serious == []
    assert problems == []
    assert (ARTIFACTS / f"{page}.png").stat().st_size > 0


def axe_violations(tab) -> list[str]:
    tab.add_script_tag(path=str(axe_script()))
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip


def test_the_example_studys_report_in_chromium(browser, tmp_path):
    """The baked example's own report, made by `studykit report` as the tutorial makes it: every page
    is valid HTML (the Nu checker), loads cleanly and passes axe; what a reader first sees of each is
    kept for the tutorial."""
    study = bake(tmp_path, principal_investigator="Synthetic Study Team",
                 institution="Synthetic Example Institute")  # fmt: skip (the tutorial's answers)
    made = run_in_study(study, "-m", "studykit", "report")
    assert made.returncode == 0, made.stdout + made.stderr
    assert nu_errors(sorted((study / "reports" / "_preview").glob("*.html"))) == []
    EXAMPLE_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        tab = browser.new_page(viewport={"width": 1200, "height": 1500})
        problems: list[str] = []
        tab.on("pageerror", lambda e, found=problems: found.append(f"page error: {e}"))
        tab.on("requestfailed", lambda r, found=problems: found.append(f"request failed: {r.url}"))
        tab.goto((study / "reports" / "_preview" / f"{page}.html").as_uri(), wait_until="load")
        assert tab.get_by_text("Preview, not the Quarto report").is_visible()
        for image in tab.locator("figure img").all():
            assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        serious = axe_violations(tab)
        tab.screenshot(path=str(EXAMPLE_ARTIFACTS / f"{page}.png"))
        tab.close()
        assert (page, serious, problems) == (page, [], [])


def test_preview_pages_are_valid_html(site):
    """The W3C Nu HTML Checker finds no error in any page of the preview."""
    assert nu_errors(sorted(site.glob("*.html"))) == []


def test_the_nu_checker_finds_an_error(tmp_path):
    """So that the checks above cannot pass by checking nothing."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>t</title></head>'
                    "<body><li>x</li></body></html>")  # a list item outside a list
    assert [e.split(": ", 1)[1][:30] for e in nu_errors([page])] == ["Element “li” not allowed as ch"]


def test_involvement_page_from_the_example_log_in_chromium(browser, tmp_path):
    """The real GRIPP2, contributors, activities, impacts and UK Standards tables pass axe too."""
    from studykit.governance.gripp2 import write_involvement_tables
    from studykit.study import load_study

    root = make_report_study(tmp_path)
    (root / "governance").mkdir()
    shutil.copy(TEMPLATE / "example" / "data" / "fixed" / "governance" / "involvement.yml",
                root / "governance" / "involvement.yml")  # fmt: skip
    write_involvement_tables(load_study(root), root / "reports" / "_results")
    render_preview(root / "reports", reason="Quarto was not found on PATH")
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    tab.goto((root / "reports" / "_preview" / "involvement.html").as_uri(), wait_until="load")
    assert tab.locator("table").count() == 5
    assert tab.locator("table > caption").count() == 5
    tab.locator('a[href="#ppi-reflections"]').click()
    tab.add_script_tag(path=str(axe_script()))
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "involvement-example.png"), full_page=True)
    tab.close()
    assert serious == []
