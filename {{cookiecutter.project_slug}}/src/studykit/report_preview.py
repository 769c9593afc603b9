"""The preview of the report when Quarto is not installed: pandoc (pypandoc-binary), clearly labelled.

Each page is read through ``report.expand_page`` (includes and vars expanded), then
studykit does what Quarto would: numbers figures and tables in page order (as a Quarto
website does), turns ``@fig-x``/``@tbl-x`` into "Figure 1"/"Table 2" links, gives each
figure its ``fig-alt`` text and styles callouts. pandoc converts the result to one
HTML page per .qmd with a navigation bar and, on every page, a banner saying that
Quarto was not found and what differs. The preview goes to ``reports/_preview/``,
never to ``_site/``, so it is never taken for Quarto's output.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

from studykit.errors import MissingToolError
from studykit.files import write_files
from studykit.report import (
    PREVIEW,
    QUARTO_INSTALL,
    REFERENCE,
    Page,
    Project,
    ReportBuild,
    read_pages,
    refuse_problems,
)

FIGURE = re.compile(
    r"^\s*!\[(?P<caption>.*)\]\((?P<path>[^)\s]+)\)\{#(?P<label>fig-[\w-]*\w)"
    r'(?P<attrs>(?:[^}"]|"(?:[^"\\]|\\.)*")*)\}\s*$'
)
CAPTION = re.compile(r"^:\s+(?P<caption>.*?)\s*\{#(?P<label>tbl-[\w-]*\w)[^}]*\}\s*$")
CALLOUT = re.compile(
    r"^(?P<fence>:{3,})\s*\{\.callout-(?P<kind>note|tip|warning|important|caution)(?P<attrs>[^}]*)\}\s*$"
)
PAGE_LINK = re.compile(r"\]\(([\w-]+)\.qmd(#[\w-]+)?\)")
ATTRIBUTE = re.compile(r'([\w-]+)="((?:[^"\\]|\\.)*)"')
ESCAPED = re.compile(r"\\(.)")
CALLOUT_NAMES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
                 "caution": "Caution"}  # fmt: skip

DIFFERENCES = (
    "This page is a preview studykit made with pandoc: {reason}. It shows the "
    "same text, numbers, tables and figures, but it is not the Quarto report: it has no Quarto theme, "
    "search or sidebar table of contents, and studykit (not Quarto) numbered the figures and tables and "
    "resolved the cross-references. Share the Quarto report, not this preview."
)

STYLE = """<style>
body { max-width: 60em; }
.preview-banner { border: 3px solid #8a4b00; background: #fff4e0; color: #1a1a1a; padding: 0.75em 1em;
  margin-bottom: 1em; text-align: left; }
.preview-banner strong { display: block; font-size: 1.1em; }
nav.preview-nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1.25em; }
nav.preview-nav a[aria-current="page"] { font-weight: bold; }
.callout { border-left: 6px solid #005a9c; background: #f2f7fb; color: #1a1a1a; padding: 0.5em 1em;
  margin: 1em 0; }
.callout-tip { border-left-color: #1b6e2b; background: #f1f8f2; }
.callout-warning, .callout-caution { border-left-color: #8a4b00; background: #fff6ea; }
.callout-important { border-left-color: #a4262c; background: #fcf1f1; }
.callout-title { font-weight: bold; }
figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #666; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
caption { caption-side: top; text-align: left; padding-bottom: 0.4em; }
</style>"""


def _attribute_text(value: str) -> str:
    """A value for a pandoc attribute in double quotes: backslash and quote escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def number_page(page: Page) -> str:
    """The page body as pandoc markdown, with figures and tables numbered and references resolved."""
    numbers: dict[str, str] = {}
    figures = tables = 0
    out: list[str] = []
    for line in page.lines:
        text = line.text
        if (figure := FIGURE.match(text)) is not None:
            figures += 1
            label, caption = figure["label"], figure["caption"]
            numbers[label] = f"Figure {figures}"
            attrs = {key: ESCAPED.sub(r"\1", value) for key, value in ATTRIBUTE.findall(figure["attrs"])}
            alt = attrs.get("fig-alt") or re.sub(r"[*_`]", "", caption)
            alt = _attribute_text(alt)
            text = f'![Figure {figures}: {caption}]({figure["path"]}){{#{label} alt="{alt}"}}'
        elif (table := CAPTION.match(text)) is not None:
            tables += 1
            numbers[table["label"]] = f"Table {tables}"
            text = f": [Table {tables}]{{#{table['label']}}}: {table['caption']}"
        elif (callout := CALLOUT.match(text)) is not None:
            kind = callout["kind"]
            title = {k: ESCAPED.sub(r"\1", v) for k, v in ATTRIBUTE.findall(callout["attrs"])}.get("title")
            heading = CALLOUT_NAMES[kind] + (f": {title}" if title else "")
            text = f"{callout['fence']} {{.callout .callout-{kind}}}\n[{heading}]{{.callout-title}}\n"
        out.append(text)
    body = "\n".join(out) + "\n"
    body = PAGE_LINK.sub(r"](\1.html\2)", body)  # a link to another page, as Quarto renders it
    return REFERENCE.sub(lambda m: f"[{numbers[m[1]]}](#{m[1]})" if m[1] in numbers else m[0], body)


def _banner(reason: str) -> str:
    return (
        '<div class="preview-banner" role="note" aria-label="Preview notice">'
        "<strong>Preview, not the Quarto report</strong>"
        f"<p>{html.escape(DIFFERENCES.format(reason=reason))}</p>"
        "<p>Install Quarto (1.7 or later) from "
        '<a href="https://quarto.org/docs/get-started/">quarto.org/docs/get-started</a>, or run '
        "<code>pip install quarto-cli</code> in this study's environment, then run "
        "<code>studykit report</code> again.</p></div>"
    )


def _navigation(project: Project, current: str) -> str:
    items = []
    for stem, text in project.links:
        here = ' aria-current="page"' if stem == current else ""
        items.append(f'<li><a href="{html.escape(stem)}.html"{here}>{html.escape(text)}</a></li>')
    label = html.escape(f"{project.title} (preview)")
    return f'<nav class="preview-nav" aria-label="{label}"><ul>{"".join(items)}</ul></nav>'


def _pandoc() -> str:
    try:
        import pypandoc
    except ImportError as exc:
        msg = "neither Quarto nor pandoc (the pypandoc-binary package) is installed"
        raise MissingToolError(msg, fix=f"{QUARTO_INSTALL} Or `pip install pypandoc-binary` for a "
                               "preview.") from exc  # fmt: skip
    return pypandoc.get_pandoc_path()


def page_html(project: Project, page: Page, reason: str) -> str:
    """One page of the preview as a standalone HTML document."""
    header = f"<header>{_banner(reason)}{_navigation(project, page.name)}</header><main>"
    args = [
        _pandoc(), "--from", "markdown", "--to", "html5", "--standalone", "--wrap=none",
        "--metadata", f"title={page.title}",
        "--metadata", f"pagetitle={page.title} - {project.title} (preview)",
        "--metadata", f"lang={project.lang}",
        "--variable", f"header-includes={STYLE}", "--variable", f"include-before={header}",
        "--variable", "include-after=</main>",
    ]  # fmt: skip
    run = subprocess.run(args, input=number_page(page), capture_output=True, text=True, check=True,
                         encoding="utf-8")  # fmt: skip
    return run.stdout


def render_preview(reports: Path, *, reason: str) -> ReportBuild:
    """Write the preview into ``reports/_preview/``: one HTML page per .qmd, with its figure files."""
    project, pages, problems = read_pages(reports)
    refuse_problems(problems, reports)
    output = reports / PREVIEW
    files: dict[Path, bytes | str] = {}
    for page in pages:
        for line in page.lines:
            if (figure := FIGURE.match(line.text)) is not None:
                source = reports / figure["path"]
                files[output / figure["path"]] = source.read_bytes()
                png = source.with_suffix(".png")
                if png.is_file():
                    files[output / Path(figure["path"]).with_suffix(".png")] = png.read_bytes()
    written = {output / f"{page.name}.html": page_html(project, page, reason) for page in pages}
    write_files({**files, **written}, within=output)
    return ReportBuild("preview", output, tuple(written), reason)
