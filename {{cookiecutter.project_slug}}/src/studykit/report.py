"""The report: check the Quarto pages, then render them with Quarto or as a labelled preview.

``reports/`` is a Quarto website whose pages hold prose only: numbers come from
``{{< var key >}}`` (``reports/_variables.yml``), tables and figures from
``{{< include _results/... >}}`` (both written by ``studykit results``), and
``@tbl-``/``@fig-`` cross-references name labels on the same page (Quarto numbers
figures and tables per page in a website). Three jobs live here:

- ``lint_reports``: every page's front matter parses, every include, var, reference
  label and figure file exists: problems as data, each with a fix;
- ``expand_page``: a page with its includes and vars expanded (the lint and the preview
  read pages through this one function, so they cannot disagree);
- ``make_report``: compute the results, then ``quarto render reports/`` into
  ``reports/_site/`` when Quarto is on PATH, else the pandoc preview in
  ``reports/_preview/`` (``studykit.report_preview``), which says on every page that it
  is not Quarto's output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from studykit.errors import DataErrorsFound, MissingToolError, StudykitError

if TYPE_CHECKING:
    from studykit.study import Study

REPORTS = "reports"
QUARTO_CONFIG = "_quarto.yml"
VARIABLES = "_variables.yml"
SITE = "_site"
PREVIEW = "_preview"
QUARTO_INSTALL = (
    "Install Quarto (>= 1.7) from https://quarto.org/docs/get-started/, or run "
    "`pip install quarto-cli` in this study's environment (`pip install -e '.[report]'`)."
)

NOT_FOUND = "Quarto was not found on PATH"

MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
SHORTCODE = re.compile(r"(?<!\{)\{\{<\s*(\w+)\s+(.*?)\s*>\}\}(?!\})")
REFERENCE = re.compile(r"(?<![\w@.\\])@((?:fig|tbl)-[\w-]*\w)")
LABEL = re.compile(r"\{#((?:fig|tbl)-[\w-]*\w)[\s}]")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")

Renderer = Literal["auto", "quarto", "preview"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a report page: where, what, and how to fix it."""

    code: str
    file: str
    line: int
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "file": self.file, "line": self.line, "message": self.message,
                "fix": self.fix}  # fmt: skip

    def sentence(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.message}. {self.fix}"


@dataclass(frozen=True)
class Line:
    """One line of an expanded page and where it came from (the page or an included file)."""

    text: str
    file: Path
    number: int


@dataclass(frozen=True)
class Page:
    """A report page: its source, front matter and expanded lines."""

    source: Path
    meta: dict[str, Any]
    lines: tuple[Line, ...]

    @property
    def name(self) -> str:
        return self.source.stem

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.name))

    @property
    def body(self) -> str:
        return "\n".join(line.text for line in self.lines) + "\n"


@dataclass(frozen=True)
class Lint:
    """The result of checking every page of the report."""

    reports: Path
    pages: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"reports": self.reports.as_posix(), "pages": list(self.pages), "valid": self.valid,
                "problems": [p.to_dict() for p in self.problems]}  # fmt: skip


@dataclass(frozen=True)
class ReportBuild:
    """What ``make_report`` produced: Quarto's site or the labelled preview, and why."""

    renderer: Literal["quarto", "preview"]
    output: Path
    pages: tuple[Path, ...]
    reason: str = ""

    @property
    def index(self) -> Path:
        return self.output / "index.html"

    def to_dict(self) -> dict[str, Any]:
        return {"renderer": self.renderer, "output": self.output.as_posix(), "index": self.index.as_posix(),
                "pages": [p.as_posix() for p in self.pages], "reason": self.reason}  # fmt: skip


@dataclass(frozen=True)
class Project:
    """The parts of ``_quarto.yml`` the lint and the preview need."""

    folder: Path
    title: str
    lang: str
    pages: tuple[Path, ...]
    links: tuple[tuple[str, str], ...] = field(default=())  # (page stem, navbar text)


# --- reading the project ------------------------------------------------------------------------


def reports_dir(study: Study) -> Path:
    return study.root / REPORTS


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        msg = f"is not valid YAML ({exc})"
        raise StudykitError(msg, path=path, fix="Correct the YAML (a stray tab or colon?).") from exc
    except FileNotFoundError as exc:
        msg = "is missing"
        raise StudykitError(msg, path=path, fix="Restore it from the studykit template.") from exc


def load_project(reports: Path) -> Project:
    """Read ``_quarto.yml``: the pages in order (``project.render``), the navbar, title and language."""
    config = _read_yaml(reports / QUARTO_CONFIG) or {}
    project = config.get("project") or {}
    website = config.get("website") or {}
    listed = project.get("render") or sorted(p.name for p in reports.glob("*.qmd"))
    pages = tuple(reports / name for name in listed if str(name).endswith(".qmd"))
    links = []
    for item in (website.get("navbar") or {}).get("left") or []:
        href = item.get("href") if isinstance(item, dict) else str(item)
        text = item.get("text") if isinstance(item, dict) else None
        if href:
            links.append((Path(href).stem, str(text or Path(href).stem)))
    if not links:
        links = [(page.stem, page.stem) for page in pages]
    return Project(reports, str(website.get("title") or "Report"), str(config.get("lang") or "en"), pages,
                   tuple(links))  # fmt: skip


def load_variables(reports: Path) -> dict[str, Any]:
    path = reports / VARIABLES
    return (_read_yaml(path) or {}) if path.is_file() else {}


def lookup(variables: dict[str, Any], key: str) -> Any:
    """A dotted key (``n.enrolled``) in the nested variables, or ``None`` when it is not there."""
    value: Any = variables
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _shown(value: Any) -> str:
    """A variable as Markdown text: every punctuation character escaped, so a value is never markup."""
    text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


# --- expanding a page: the one reader of includes and vars --------------------------------------


def _front_matter(text: str, source: Path, problems: list[Problem], display: str) -> tuple[dict, int]:
    """The page's YAML front matter and the index of the first body line."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        problems.append(Problem("REP001", display, 1, "has no front matter",
                                "Start the page with `---`, a `title:` line and `---`."))  # fmt: skip
        return {}, 0
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "...")), None)
    if end is None:
        problems.append(Problem("REP001", display, 1, "front matter is not closed",
                                "End the front matter with a line `---`."))  # fmt: skip
        return {}, 0
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        problems.append(Problem("REP001", display, 1, f"front matter is not valid YAML ({exc})",
                                "Correct the YAML between the `---` lines."))  # fmt: skip
        return {}, end + 1
    if not isinstance(meta, dict) or not meta.get("title"):
        problems.append(Problem("REP001", display, 1, "front matter has no title",
                                "Add a `title:` line (every page needs one, also for screen readers)."))
        return meta if isinstance(meta, dict) else {}, end + 1
    return meta, end + 1


def _expand_line(
    line: Line, reports: Path, variables: dict[str, Any], problems: list[Problem], seen: tuple[Path, ...]
) -> list[Line]:
    out: list[Line] = []
    text, position = line.text, 0
    display = _display(line.file, reports)
    while (match := SHORTCODE.search(text, position)) is not None:
        kind, argument = match.group(1), match.group(2).strip().strip("\"'")
        if kind == "var":
            value = lookup(variables, argument)
            if value is None:
                problems.append(Problem("REP003", display, line.number, f"uses {{{{< var {argument} >}}}}, "
                                        f"which {VARIABLES} does not define",
                                        "Run `studykit results`, or correct the key."))  # fmt: skip
                value = f"?{argument}?"
            shown = _shown(value)
            text = text[: match.start()] + shown + text[match.end():]
            position = match.start() + len(shown)  # a value is text, never read again as a shortcode
        elif kind == "include":
            target = (line.file.parent / argument).resolve()
            before, after = text[: match.start()], text[match.end():]
            if target in seen or not target.is_file():
                why = "includes itself" if target in seen else "includes a file that does not exist"
                fix = "Run `studykit results`, or correct the path (relative to the page)."
                problems.append(Problem("REP002", display, line.number, f"{why}: {argument}", fix))
                text, position = before + after, len(before)
                continue
            if before.strip():
                out.append(Line(before, line.file, line.number))
            out.extend(_expand_file(target, 0, reports, variables, problems, (*seen, target)))
            if not after.strip():
                return out
            text, position = after, 0
        else:
            problems.append(Problem("REP006", display, line.number, f"uses a shortcode studykit does not "
                                    f"preview: {kind}", "Use var or include, or render with Quarto."))
            position = match.end()
    out.append(Line(text, line.file, line.number))
    return out


def _expand_file(
    path: Path, start: int, reports: Path, variables: dict[str, Any], problems: list[Problem],
    seen: tuple[Path, ...],
) -> list[Line]:  # fmt: skip
    raw = path.read_text(encoding="utf-8").split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    lines: list[Line] = []
    for number, text in enumerate(raw[start:], start + 1):
        lines.extend(_expand_line(Line(text, path, number), reports, variables, problems, seen))
    return lines


def _display(path: Path, reports: Path) -> str:
    try:
        return (REPORTS / path.resolve().relative_to(reports.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def expand_page(source: Path, variables: dict[str, Any], problems: list[Problem]) -> Page:
    """The page with every include and var expanded; what is missing is added to ``problems``."""
    reports = source.parent
    display = _display(source, reports)
    if not source.is_file():
        problems.append(Problem("REP002", display, 1, "is listed in _quarto.yml but does not exist",
                                "Create it, or take it out of project.render."))  # fmt: skip
        return Page(source, {}, ())
    meta, start = _front_matter(source.read_text(encoding="utf-8"), source, problems, display)
    lines = _expand_file(source, start, reports, variables, problems, (source.resolve(),))
    return Page(source, meta, tuple(lines))


# --- the lint -----------------------------------------------------------------------------------


def _check_references(page: Page, problems: list[Problem]) -> None:
    """Every ``@fig-``/``@tbl-`` names a label on the same page; labels are unique; figures exist."""
    labels: dict[str, Line] = {}
    for line in page.lines:
        for label in LABEL.findall(line.text):
            if label in labels:
                problems.append(Problem("REP004", _display(line.file, page.source.parent), line.number,
                                        f"label #{label} is used twice on {page.source.name}",
                                        "Give each figure and table its own label."))  # fmt: skip
            labels[label] = line
    for line in page.lines:
        where = _display(line.file, page.source.parent)
        for reference in REFERENCE.findall(line.text):
            if reference not in labels:
                problems.append(Problem("REP004", where, line.number, f"refers to @{reference}, which no "
                                        f"figure or table on {page.source.name} is labelled",
                                        "Include the table or figure on this page, or correct the label."))
        for target in IMAGE.findall(line.text):
            if "://" in target or target.startswith("data:"):
                continue
            if not (page.source.parent / target).is_file():
                problems.append(Problem("REP005", where, line.number, f"shows a figure file that does not "
                                        f"exist: {target}", "Run `studykit results`, or correct the path."))


def read_pages(reports: Path) -> tuple[Project, list[Page], list[Problem]]:
    """The project, its pages expanded, and every problem found on the way."""
    project = load_project(reports)
    variables = load_variables(reports)
    problems: list[Problem] = []
    if not (reports / VARIABLES).is_file():
        problems.append(Problem("REP003", f"{REPORTS}/{VARIABLES}", 1, "does not exist",
                                "Run `studykit results` to write it."))  # fmt: skip
    pages = [expand_page(source, variables, problems) for source in project.pages]
    for page in pages:
        _check_references(page, problems)
    return project, pages, problems


def lint_reports(reports: Path) -> Lint:
    """Check every page: front matter, includes, vars, reference labels and figure files."""
    project, _, problems = read_pages(reports)
    return Lint(reports, tuple(p.name for p in project.pages), tuple(problems))


# --- making the report --------------------------------------------------------------------------


def compute_results(study: Study) -> None:
    """``studykit results``: the numbers, tables and figures the pages cite, into ``reports/``."""
    from studykit.results import write_results  # imported when used: the statistics stack is heavy

    write_results(study)


def quarto_executable() -> str | None:
    return shutil.which("quarto")


def refuse_problems(problems: list[Problem], reports: Path) -> None:
    """Stop (exit 1) before rendering pages that would show missing numbers, tables or figures."""
    if problems:
        msg = f"the report's pages have {len(problems)} problem(s), first: {problems[0].sentence()}"
        raise DataErrorsFound(msg, findings=tuple(problems), path=reports,
                              fix="Run `studykit report --check` to see them all.")  # fmt: skip


def render_quarto(reports: Path, quarto: str) -> ReportBuild:
    """``quarto render reports/`` into ``reports/_site/`` (after the lint)."""
    refuse_problems(read_pages(reports)[2], reports)
    run = subprocess.run([quarto, "render", str(reports)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        tail = " ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
        msg = f"quarto render stopped (exit {run.returncode}): {tail}"
        raise StudykitError(msg, path=reports, fix="Read Quarto's message; `studykit report --check` finds "
                            "missing includes, vars and labels.")  # fmt: skip
    site = reports / SITE
    return ReportBuild("quarto", site, tuple(sorted(site.glob("*.html"))))


def make_report(study: Study, *, compute: bool = True, renderer: Renderer = "auto") -> ReportBuild:
    """Compute the results (unless ``compute`` is false), then render with Quarto or the preview.

    ``renderer``: ``auto`` uses Quarto when it is on PATH and the preview otherwise;
    ``quarto`` fails with the install hint when it is not; ``preview`` always previews.
    """
    reports = reports_dir(study)
    if compute:
        compute_results(study)
    quarto = quarto_executable() if renderer != "preview" else None
    if quarto is not None:
        return render_quarto(reports, quarto)
    if renderer == "quarto":
        msg = "Quarto is not on PATH"
        raise MissingToolError(msg, fix=QUARTO_INSTALL)
    from studykit.report_preview import render_preview

    reason = "the preview was asked for (--preview)" if renderer == "preview" else NOT_FOUND
    return render_preview(reports, reason=reason)
