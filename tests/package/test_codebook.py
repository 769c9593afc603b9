"""The codebook: built from the same definitions as datapackage.json, as Markdown and HTML."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from studykit import load_study
from studykit.cli import app
from studykit.codebook import codebook_html, codebook_markdown
from studykit.package import build_descriptor
from typer.testing import CliRunner

DESIGN = {
    "title": "Codebook study <&>",
    "slug": "codebook-study",
    "description": "Invented for a test.",
    "principal_investigator": "Study Team",
    "institution": "Test Institution",
    "contact_email": "team@example.org",
    "licences": {"data": "CC-BY-4.0", "code": "MIT"},
    "waves": [{"id": "T1", "label": "after training", "offset_months": 0}],
    "instruments": ["swemwbs", "cbi", "mbi_hss", "phq9"],
    "strands": {"qualitative": ["interviews"]},
    "archive": {"target": "Zenodo"},
}


def make_study(tmp_path: Path, **overrides: object) -> Path:
    (tmp_path / "study.yml").write_text(yaml.safe_dump({**DESIGN, **overrides}), encoding="utf-8")
    return tmp_path


def test_codebook_describes_every_resource_and_field_of_the_data_package(tmp_path):
    study = load_study(make_study(tmp_path))
    text = codebook_markdown(study)
    for resource in build_descriptor(study)["resources"]:
        assert f"### `{resource['path']}`" in text
        for field in resource["schema"]["fields"]:
            assert f"`{field['name']}`" in text, (resource["name"], field["name"])


def test_codebook_gives_ranges_labels_scoring_and_norms(tmp_path):
    text = codebook_markdown(load_study(make_study(tmp_path)))
    assert "### Copenhagen Burnout Inventory (CBI) (`cbi`)" in text
    assert "| `item_13` | work: enough energy for family and friends in leisure time |  | 1 to 5 |" in text
    assert "1 -> 100; 2 -> 75; 3 -> 50; 4 -> 25; 5 -> 0 | yes |" in text
    assert "mean of the answered item values; needs 4 of 7 items; reverse-scored: item_13" in text
    assert "needs 7 of 9 items, prorated (sum x items / answered) when some are missing" in text
    assert "| 21 | 19.25 |" in text  # the SWEMWBS conversion table
    assert "minimal 0-4; mild 5-9; moderate 10-14; moderately severe 15-19; severe 20-27" in text
    assert (
        "| `emotional_exhaustion` | Mental-health workers (manual) | 16.89 | 8.9 | 730 | sum | no |" in text
    )


def test_codebook_keeps_licensed_wording_out(tmp_path):
    text = codebook_markdown(load_study(make_study(tmp_path)))
    assert "Item wording is not reproduced here." in text
    assert "Little interest or pleasure in doing things" in text  # PHQ-9: allowed, with attribution
    assert "Copyright Pfizer Inc. 1999. Reproduced with permission." in text


def test_codebook_without_instruments_or_qualitative_strand(tmp_path):
    text = codebook_markdown(load_study(make_study(tmp_path, instruments=[], strands={"qualitative": []})))
    assert "## Instruments" not in text
    assert "codebook.csv" not in text
    assert "### `data/participants.csv`" in text


def test_codebook_markdown_tables_parse_with_their_columns(tmp_path):
    text = codebook_markdown(load_study(make_study(tmp_path)))
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) > 10
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("|---"):
            header = lines[index - 1]
            width = header.count(" | ") + 1
            row = index + 1
            while row < len(lines) and lines[row].startswith("|"):
                cells = lines[row].replace("\\|", "").count(" | ") + 1
                assert cells == width, lines[row]
                row += 1


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def test_codebook_html_is_a_page_with_tables_and_an_escaped_title(tmp_path):
    page = codebook_html(load_study(make_study(tmp_path)))
    parser = _Collector()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert parser.title == "Codebook: Codebook study <&>"
    assert "&lt;&amp;&gt;" in page
    assert parser.tags.count("table") > 10
    assert "h1" in parser.tags


def test_codebook_html_is_valid_html(tmp_path):
    from tests.package.nu_checker import nu_errors

    root = make_study(tmp_path)
    page = root / "codebook.html"
    page.write_text(codebook_html(load_study(root)), encoding="utf-8")
    assert nu_errors([page]) == []


def test_codebook_command_markdown_to_stdout_and_html_to_file(tmp_path):
    root = make_study(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["codebook", "--study-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == codebook_markdown(load_study(root))
    target = tmp_path / "codebook.html"
    result = runner.invoke(
        app, ["codebook", "--format", "html", "--output", str(target), "--study-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == codebook_html(load_study(root))
    assert result.stdout == ""


def test_codebook_command_exit_2_without_a_study(tmp_path):
    result = CliRunner().invoke(app, ["codebook", "--study-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "study.yml: not found" in result.stderr


SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(1)">'


def test_codebook_html_shows_html_from_the_study_as_text(tmp_path):
    root = make_study(
        tmp_path,
        title=f"Study {SCRIPT}",
        description=f"About {IMAGE} and {SCRIPT}",
        waves=[{"id": "T1", "label": IMAGE, "offset_months": 0}],
        instruments=["mood"],
    )
    (root / "instruments").mkdir()
    mood = {
        "id": "mood", "name": f"Mood {SCRIPT}", "version": "1", "construct": IMAGE, "citation": SCRIPT,
        "licence": {"item_text_allowed": True, "note": IMAGE},
        "response": {"min": 1, "max": 2, "labels": {1: SCRIPT, 2: IMAGE}},
        "items": [{"id": "item_01", "label": IMAGE, "text": SCRIPT}, {"id": "item_02", "label": SCRIPT}],
        "scores": [{"id": "total", "name": IMAGE, "items": ["item_01", "item_02"], "method": "sum",
                    "range": [2, 4]}],
        "notes": [SCRIPT],
    }  # fmt: skip
    (root / "instruments" / "mood.yml").write_text(yaml.safe_dump(mood), encoding="utf-8")
    page = codebook_html(load_study(root))
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "img" not in parser.tags
    assert "<script" not in page
    assert "<img" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert "<script" not in codebook_markdown(load_study(root))
