"""studykit.render: every view shows study values as typed, and the report says each fix once."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from rich.console import Console
from studykit import render
from studykit.checks.findings import Finding, Report

# An opening tag, a closing tag with nothing open (rich raises MarkupError on it) and an emoji code.
MARKUP = "[i]a[/b]:cat:"
SCOPES_NOW = {"participate": True, "audio_recording": False, "direct_quotation": True, "archiving": False,
              "future_contact": False}
CONSENT = {
    "participant_id": MARKUP,
    "state": "consented",
    "enrolled": False,
    "scopes_now": SCOPES_NOW,
    "events": [{"participant_id": MARKUP, "form_version": MARKUP, "consented_on": "2024-02-01",
                "scopes": ["participate", "direct_quotation"], "row": 2}],
    "withdrawals": [{"participant_id": MARKUP, "withdrawn_on": "2024-03-01", "scope": "no further data",
                     "reason": MARKUP}],
}
FINDING = {"code": "STR007", "layer": "structure", "severity": "error", "file": MARKUP, "row": 2,
           "column": MARKUP, "value": MARKUP, "rule": MARKUP, "message": MARKUP, "fix": MARKUP}
# One JSON-form sample per view: every string a value could come from a study file.
SAMPLES = {
    render.report_text: {"format": "x", "valid": False, "counts": {"error": 1, "warning": 0, "info": 0},
                         "checked": [MARKUP], "skipped": {MARKUP: MARKUP}, "findings": [FINDING]},
    render.study_text: {
        "title": MARKUP, "slug": MARKUP, "version": MARKUP, "synthetic": True, "instruments": [MARKUP],
        "principal_investigator": MARKUP, "institution": MARKUP, "licences": {"data": MARKUP, "code": "MIT"},
        "waves": [
            {"id": "T1", "label": MARKUP, "offset_months": 0, "window_days": {"before": 1, "after": 2}}
        ],
        "strands": {"quantitative": True, "qualitative": [MARKUP]},
        "archive": {"target": MARKUP, "access": "open"},
    },
    render.exchange_text: {"action": "import", "source": MARKUP, "written": [MARKUP], "counts": {MARKUP: 1},
                           "warnings": [MARKUP], "notes": [MARKUP], "losses": [MARKUP], "lossless": False},
    render.export_text: {"to": "spss", "folder": MARKUP, "rows": {MARKUP: 1},
                         "renamed": [{"table": MARKUP, "variable": MARKUP, "spss": MARKUP, "stata": MARKUP}]},
    render.docx_import_text: {"output": MARKUP, "speakers": [MARKUP], "paragraphs": 1, "warnings": [MARKUP]},
    render.pseudonymise_text: {"source": MARKUP, "output": MARKUP, "log": MARKUP, "map": MARKUP,
                               "replacements": {MARKUP: 1}, "kept": 0, "new_map_entries": 0, "warnings": []},
    render.consent_history_text: CONSENT,
    render.consent_text: [CONSENT],
    render.ethics_text: [{"committee": MARKUP, "reference": MARKUP, "approved_on": "2024-01-15",
                          "ends_on": None, "consent_forms": [MARKUP], "documents": [MARKUP],
                          "amendments": [MARKUP], "state": "active", "days_left": None}],
    render.instruments_text: [{"id": "mood", "name": MARKUP, "items": 4, "scores": [MARKUP],
                               "source": "study", "item_text": False, "in_study": True}],
    render.edit_done: {"action": "consent add", "participant_id": MARKUP, "register": MARKUP,
                       "record": {"form_version": MARKUP, "consented_on": "2024-02-01", "scopes": []}},
    render.failure: MARKUP,
    render.warning: MARKUP,
    render.note: MARKUP,
    render.validation_summary: {
        "counts": {"error": 1, "warning": 0}, "findings": [{**FINDING, "code": "STR001"}]
    },
    render.survey_import_text: {
        "platform": "REDCap", "source": MARKUP, "dry_run": False, "written": True,
        "counts": {"added": 1, "unchanged": 0, "replaced": 0, "refused": 1},
        "tables": [{"file": MARKUP, "added": [MARKUP], "unchanged": [], "replaced": [], "refused": [MARKUP]}],
        "dropped_columns": [{"column": MARKUP, "reason": MARKUP}], "skipped": {MARKUP: 1},
        "unknown_labels": [MARKUP], "problems": [MARKUP], "findings": [FINDING],
    },
    render.survey_dictionary_text: {"platform": "redcap", "files": {MARKUP: MARKUP}, "instruments": [MARKUP],
                                    "notes": [MARKUP]},
}


# Template lifecycle: template check / update and doctor (paths and sentences can carry any text).
SAMPLES.update({
    render.template_status_text: {"state": "outdated", "sentence": MARKUP},
    render.template_update_text: {"linked": True, "changed": [MARKUP], "sentence": MARKUP,
                                  "conflicts": [{"file": MARKUP, "kind": "markers", "fix": MARKUP}]},
    render.doctor_text: {"healthy": False, "problems": [MARKUP], "notes": [MARKUP]},
})
# Public involvement: the log's ids, roles and summaries are typed by the team.
SAMPLES[render.involvement_text] = {
    "file": MARKUP, "exists": True, "problems": 0,
    "contributors": [{"id": MARKUP, "role": MARKUP, "named": True, "also_participant": False}],
    "activities": [{"id": MARKUP, "date": "2024-03-01", "stage": MARKUP, "nature": MARKUP, "who": [MARKUP],
                    "summary": MARKUP}],
    "impacts": {"positive": 1, "negative": 0, "mixed": 0}, "reflections": 1,
    "gripp2": [{"item": 1, "topic": MARKUP, "reported": False}], "standards": {MARKUP: MARKUP},
}

# Erasure: paths, notes and steps name study files.
ITEM = {"kind": "quote", "path": MARKUP, "action": "remove_or_replace_quote", "automatic": False,
        "resource": None, "rows": [2], "segments": [MARKUP], "quotes": [MARKUP], "cited_in": [MARKUP],
        "commits": [], "sha256": None, "note": MARKUP, "steps": [MARKUP]}
RULE = {"code": MARKUP, "layer": "structure", "title": MARKUP, "severity": "error", "explanation": MARKUP,
        "fix": MARKUP, "requires": [MARKUP], "defined_in": MARKUP}  # fmt: skip
SAMPLES.update({render.rule_text: RULE, render.rules_text: [RULE]})
SAMPLES.update({
    render.erasure_manifest_text: {"participant_id": MARKUP, "dry_run": True, "request": None,
                                   "items": [ITEM], "blocking": [MARKUP], "notes": [MARKUP]},
    render.erasure_text: {"participant_id": MARKUP, "dry_run": False, "steps": [MARKUP], "notes": [MARKUP],
                          "done": [{"action": "rows deleted", "kind": "table_rows", "location": MARKUP,
                                    "detail": MARKUP}]},
})

def printed(renderable, *, markup: bool) -> str:
    """What a terminal shows; ``markup=True`` is rich's default console, so the views must be safe alone."""
    target = io.StringIO()
    console = Console(file=target, width=300, markup=markup, emoji=markup, color_system=None)
    console.print(renderable)
    return target.getvalue()


def test_every_view_has_a_markup_sample():
    views = {*render.VIEWS.values(), *render.LIST_VIEWS.values()}
    assert views <= set(SAMPLES)


@pytest.mark.parametrize("view", SAMPLES, ids=lambda view: view.__name__)
@pytest.mark.parametrize("markup", [True, False], ids=["rich-default-console", "studykit-console"])
def test_view_shows_markup_like_values_as_typed(view, markup):
    sample = SAMPLES[view]
    renderable = view(sample, 1) if view is render.validation_summary else view(sample)
    assert MARKUP in printed(renderable, markup=markup)


def test_console_prints_laughs_in_brackets():
    target = io.StringIO()
    console = render.console()
    console.file = target
    console.print("[laughs] man [/oops] :cat:")
    assert target.getvalue() == "[laughs] man [/oops] :cat:\n"


def test_control_characters_are_shown_not_sent_to_the_terminal():
    assert render.shown("a\x1b[2Jb\x00c\td\ne").plain == "a\\x1b[2Jb\\x00c\td\ne"
    assert render.visible(None) == ""


def test_to_json_uses_to_dict_and_plain_values():
    finding = Finding("STR007", "structure", "error", "f.csv", 2, "c", "[/x]", "r", "m", "f")
    report = Report(findings=[finding])
    assert json.loads(render.to_json(report)) == report.to_dict()
    assert json.loads(render.to_json([report]))[0]["findings"][0]["value"] == "[/x]"


def test_to_text_of_an_empty_list_is_nothing():
    assert render.to_text([]) is None


def gov007(file: str) -> Finding:
    return Finding("GOV007", "governance", "warning", file, 34, "participant_id", "P033",
                   "Data to remove still present", "P033 asked to remove all data", "Delete P033's rows.")


def test_report_says_what_to_do_once_per_rule_naming_how_many_files():
    report = Report(findings=[gov007(f"data/measures/m{i}.csv") for i in range(6)], checked=["governance"])
    text = printed(render.to_text(report), markup=False)
    assert text.count("Delete P033's rows.") == 1
    assert "GOV007 (Data to remove still present), in 6 files: Delete P033's rows." in text
    assert text.count("data/measures/m") == 6  # each file still has its own table
    assert "Each code, what causes it and an example: docs/rules.md." in text


def test_report_shows_fields_it_does_not_know():
    sample = {**SAMPLES[render.report_text], "new_field": {"data/measures/mood.csv": "x"}}
    assert "New field: " in printed(render.report_text(sample), markup=False)


def test_report_says_which_engine_checked_each_table():
    sample = {**SAMPLES[render.report_text], "engines": {"data/measures/mood.csv": "polars"}}
    shown = printed(render.report_text(sample), markup=False)
    assert "Tables checked by: data/measures/mood.csv (polars)." in shown


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+cmd", "'+cmd"),
        ("-x+1", "'-x+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),
        ("P001", "P001"),
        ("", ""),
    ],
)
def test_spreadsheet_cell_neutralises_formulas_owasp(cell, written):
    assert render.spreadsheet_cell(cell) == written


def test_spreadsheet_csv_neutralises_text_cells_and_counts_them():
    frame = pl.DataFrame({"participant_id": ["=1+1", "P002", None, "-2"], "total": [1.0, -3.0, None, 2.0]})
    text, changed = render.spreadsheet_csv(frame)
    assert changed == 1
    assert text == "participant_id,total\n'=1+1,1.0\nP002,-3.0\n,\n-2,2.0\n"


def test_report_lists_a_few_fixes_of_one_rule_then_points_to_json():
    findings = [
        Finding("STR007", "structure", "error", "f.csv", row, "c", "x", "Wrong type", "m", f"Fix row {row}.")
        for row in range(2, 7)
    ]
    text = printed(render.to_text(Report(findings=findings)), markup=False)
    assert [f"Fix row {row}." in text for row in range(2, 7)] == [True, True, True, False, False]
    assert "STR007: 2 more fixes for other findings: see --format json." in text
