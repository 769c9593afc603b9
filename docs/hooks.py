"""MkDocs hook: publish the study's own pages (``{{cookiecutter.project_slug}}/docs/``) under ``study/``.

The study's pages stay where every baked study carries them; the site reads them from
there, so there is one copy. Links keep working both on disk and in the site: a link from
a template page to ``../{{cookiecutter.project_slug}}/docs/X.md`` becomes ``study/X.md``,
and a link from a study page to a study file outside docs/ (``../src/...``, which exists
in a baked study but is no page of the site) becomes its text.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

TEMPLATE = Path(__file__).resolve().parents[1]
DOCS = TEMPLATE / "docs"
STUDY_DOCS = TEMPLATE / "{{cookiecutter.project_slug}}" / "docs"
PREFIX = "study"
# [text](target) or [text](<target>), target without a scheme; an optional #anchor kept apart.
LINK = re.compile(r"\[(?P<text>[^\]]*)\]\(<?(?P<target>[^)>#\s]*)(?P<anchor>#[^)>\s]*)?>?\)")


def study_pages() -> list[Path]:
    return sorted(STUDY_DOCS.glob("*.md"))


def on_files(files: Files, config) -> Files:
    for page in study_pages():
        files.append(File.generated(config, f"{PREFIX}/{page.name}", abs_src_path=str(page)))
    return files


def _source(src_uri: str) -> Path:
    """Where a page of the site lives on disk."""
    if src_uri.startswith(f"{PREFIX}/"):
        return STUDY_DOCS / src_uri.removeprefix(f"{PREFIX}/")
    return DOCS / src_uri


def _site_uri(path: Path) -> str | None:
    """The site's src_uri for a file on disk, or None when the site has no such page."""
    for root, prefix in ((STUDY_DOCS, f"{PREFIX}/"), (DOCS, "")):
        if path.is_relative_to(root):
            return prefix + path.relative_to(root).as_posix()
    return None


def rewrite_links(markdown: str, src_uri: str) -> str:
    """Point every relative link at the page's place in the site (see the module docstring)."""
    here = _source(src_uri).parent

    def replace(match: re.Match[str]) -> str:
        target, text, anchor = match["target"], match["text"], match["anchor"] or ""
        if not target or ":" in target or target.startswith("/"):
            return match[0]
        site = _site_uri(Path(posixpath.normpath((here / target).as_posix())))
        if site is None:
            return text
        return f"[{text}]({posixpath.relpath(site, posixpath.dirname(src_uri) or '.')}{anchor})"

    return LINK.sub(replace, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return rewrite_links(markdown, page.file.src_uri)
