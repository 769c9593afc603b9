"""Report inputs: propositions and checklists (codes REP###).

``reports/propositions.yml`` links each proposition to quantitative constructs
(``instrument.score``) and qualitative themes; once any proposition is listed, every
construct of the study's instruments and every theme should be used by one, so that the
joint display accounts for all of the evidence (REP001, REP002). A proposition may only
name constructs and themes that exist (REP003). ``reports/checklists.yml`` says where the
report answers each COREQ and GRAMMS item; an item with no answer is a warning (REP005).
The formats: docs/report.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from studykit.analysis.checklists import missing_items, parse_checklists
from studykit.analysis.integration import InputProblem, entry_lines, parse_propositions
from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.errors import StudykitError
from studykit.files import study_relative
from studykit.study import Study

_FORMATS = "See docs/report.md for the propositions and checklists formats."

UNLINKED_CONSTRUCT = Rule(
    "REP001",
    "structure",
    "Construct not linked to any proposition",
    "warning",
    "A score of one of the study's instruments is not named by any proposition in reports/propositions.yml, "
    "so the joint display leaves that evidence out.",
    "Add the construct (instrument.score) to the proposition it speaks to, or add a proposition for it.",
)
UNLINKED_THEME = Rule(
    "REP002",
    "structure",
    "Theme not linked to any proposition",
    "warning",
    "A theme of data/qualitative/themes.yml is not named by any proposition in reports/propositions.yml, "
    "so the joint display leaves that evidence out.",
    "Add the theme id to the proposition it speaks to, or add a proposition for it.",
)
UNKNOWN_LINK = Rule(
    "REP003",
    "structure",
    "Proposition names an unknown construct or theme",
    "error",
    "A proposition names a construct that no instrument of the study scores, or a theme id that "
    "themes.yml does not hold, so its finding cannot be computed.",
    "Correct the id: constructs as `studykit instruments` lists the scores (instrument.score), themes as "
    "in data/qualitative/themes.yml.",
)
MALFORMED = Rule(
    "REP004",
    "structure",
    "Report input file malformed",
    "error",
    "reports/propositions.yml or reports/checklists.yml is not valid YAML, is not a list, has an entry "
    "with a missing or unknown key, a fit other than confirmation, expansion or discordance, or an id "
    "used twice.",
    "Fix the entry at the line shown. " + _FORMATS,
)
UNANSWERED = Rule(
    "REP005",
    "structure",
    "Checklist item not answered",
    "warning",
    "A COREQ or GRAMMS item in reports/checklists.yml says neither where the report answers it "
    "(answered_in) nor why it does not apply (not_applicable); a reviewer will ask.",
    "Write where the report answers it (page and section, or a table such as @tbl-themes), or "
    "not_applicable with the reason.",
)
MISSING_ITEM = Rule(
    "REP006",
    "structure",
    "Checklist item missing",
    "warning",
    "reports/checklists.yml lists a checklist (COREQ or GRAMMS) but not every one of its items "
    "(COREQ has 32, GRAMMS 6).",
    "Add the missing item with where the report answers it; the template's reports/checklists.yml lists all.",
)
register(UNLINKED_CONSTRUCT, UNLINKED_THEME, UNKNOWN_LINK, MALFORMED, UNANSWERED, MISSING_ITEM)


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for the report's inputs: propositions and checklists."""
    study = run.study
    yield from _propositions(study)
    yield from _checklists(study)


def _malformed(study: Study, problem: InputProblem) -> Finding:
    return MALFORMED.finding(
        problem.message,
        file=study_relative(study, problem.path),
        row=problem.line,
        column=problem.key,
        value=problem.value,
    )


def _constructs(study: Study) -> list[str]:
    from studykit.instruments import load_instrument

    found = []
    for instrument_id in study.instruments:
        try:
            instrument = load_instrument(study, instrument_id)
        except StudykitError:
            continue  # the structure layer reports a broken definition
        found += [f"{instrument_id}.{s.id}" for s in instrument.scores]
    return found


def _themes(study: Study) -> list[str] | None:
    """Theme ids; None when there is no themes.yml (no qualitative strand) or it is broken."""
    from studykit.qual.coding import parse_themes

    if not study.themes_path.is_file():
        return None
    themes, problems = parse_themes(study.themes_path)
    return None if problems else [t.id for t in themes]


def _propositions(study: Study) -> Iterator[Finding]:
    propositions, problems = parse_propositions(study.propositions_path)
    file = study_relative(study, study.propositions_path)
    for problem in problems:
        yield _malformed(study, problem)
    if not propositions:
        return
    constructs, themes = _constructs(study), _themes(study)
    lines = entry_lines(study.propositions_path)
    for proposition in propositions:
        for construct in proposition.constructs:
            if construct not in constructs:
                yield UNKNOWN_LINK.finding(
                    f"proposition {proposition.id} names construct {construct!r}, which no instrument of "
                    "the study scores",
                    file=file,
                    row=lines.get((proposition.id, "constructs", construct)),
                    column="constructs",
                    value=construct,
                )
        for theme in proposition.themes:
            if themes is not None and theme not in themes:
                yield UNKNOWN_LINK.finding(
                    f"proposition {proposition.id} names theme {theme!r}, which themes.yml does not hold",
                    file=file,
                    row=lines.get((proposition.id, "themes", theme)),
                    column="themes",
                    value=theme,
                )
    used_constructs = {c for p in propositions for c in p.constructs}
    used_themes = {t for p in propositions for t in p.themes}
    for construct in constructs:
        if construct not in used_constructs:
            yield UNLINKED_CONSTRUCT.finding(
                f"construct {construct} is not linked to any proposition", file=file, value=construct
            )
    for theme in themes or []:
        if theme not in used_themes:
            yield UNLINKED_THEME.finding(
                f"theme {theme} is not linked to any proposition", file=file, value=theme
            )


def _checklists(study: Study) -> Iterator[Finding]:
    items, problems = parse_checklists(study.checklists_path)
    file = study_relative(study, study.checklists_path)
    for problem in problems:
        yield _malformed(study, problem)
    lines = entry_lines(study.checklists_path)
    for item in items:
        if not item.answered:
            yield UNANSWERED.finding(
                f"{item.id} ({item.text}) does not say where the report answers it",
                file=file,
                row=lines.get((item.id,)),
                column="answered_in",
                value=item.id,
            )
    for ident in missing_items(items):
        yield MISSING_ITEM.finding(f"{ident} is not listed", file=file, value=ident)
