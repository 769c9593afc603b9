"""User-facing text holds no placeholders that look like instructions (issue 17, item 18)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEMPLATE

STUDY = TEMPLATE / "{{cookiecutter.project_slug}}"
PAGES = [TEMPLATE / "README.md", STUDY / "README.md", *sorted((TEMPLATE / "docs").glob("*.md")),
         *sorted((STUDY / "docs").glob("*.md"))]
PLACEHOLDERS = [
    r"gh:OWNER",  # no public home yet: a local path or the team's fork
    r"\(https://github\.com/?\)",  # a link to GitHub's front page
    r"\bOWNER/",
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(TEMPLATE).as_posix())
def test_page_has_no_placeholder(page):
    text = page.read_text(encoding="utf-8")
    assert [p for p in PLACEHOLDERS if re.search(p, text)] == []


def test_study_readme_counts_its_commands_right():
    text = (STUDY / "README.md").read_text(encoding="utf-8")
    words = {"two": 2, "three": 3, "four": 4, "five": 5}
    for word, count in words.items():
        if re.search(rf"\b{word} commands\b", text, re.IGNORECASE):
            block = text.split("```console", 1)[1].split("```", 1)[0]
            assert sum(line.startswith("$ ") for line in block.splitlines()) == count
