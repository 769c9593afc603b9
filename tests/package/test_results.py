"""`studykit results`: the files it writes, the consent filter behind them, the REP rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from studykit.checks import reports, validate
from studykit.checks.run import Run
from studykit.cli import app
from studykit.package import write_descriptor
from studykit.results import TABLES, write_results
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.designs import design
from tests.package.qual_study import CODEBOOK, THEMES, default_segments, make_qual_study

CONSENT = (
    "participant_id,form_version,consented_on,participate,audio_recording,direct_quotation,archiving,"
    "future_contact\n"
    "P001,1.0,2024-01-08,yes,yes,yes,yes,yes\n"
    "P002,1.0,2024-01-08,yes,yes,,yes,yes\n"  # no quotation
    "P003,1.0,2024-01-15,yes,yes,yes,yes,yes\n"
)
WITHDRAWALS = (
    "participant_id,withdrawn_on,reason,scope\nP003,2024-01-20,Asked to be removed,remove all data\n"
)
ETHICS = {
    "approvals": [
        {
            "committee": "Synthetic REC",
            "reference": "SYN/1",
            "approved_on": "2024-01-01",
            "expires_on": "2027-01-01",
            "consent_forms": ["1.0"],
        }
    ]
}


def wemwbs(rows: list[tuple[str, str, str, int]]) -> str:
    header = "participant_id,wave,completed_on," + ",".join(f"item_{i:02d}" for i in range(1, 15))
    return "\n".join([header, *(f"{p},{w},{d}," + ",".join([str(v)] * 14) for p, w, d, v in rows)]) + "\n"


MEASURES = wemwbs(
    [
        ("P001", "T1", "2024-01-10", 3),
        ("P002", "T1", "2024-01-10", 4),
        ("P003", "T1", "2024-01-16", 5),
        ("P001", "T2", "2024-05-10", 2),
        ("P002", "T2", "2024-05-10", 4),
    ]
)


EMPLOYMENT = (
    "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week\n"
    "P001,T1,2024-01-10,true,peer support worker,fixed-term,15\n"
)


def make_results_study(tmp_path: Path, **files: str):
    extra = {
        "data/employment.csv": EMPLOYMENT,
        "governance/consent.csv": CONSENT,
        "governance/withdrawals.csv": WITHDRAWALS,
        "governance/ethics.yml": yaml.safe_dump(ETHICS),
        "data/measures/wemwbs.csv": MEASURES,
        **files,
    }
    study = make_qual_study(
        tmp_path, codebook=CODEBOOK, segments=default_segments(), themes=THEMES, extra_files=extra
    )
    write_descriptor(study)
    return study


def outputs(study) -> dict[str, str]:
    folder = study.results_dir
    texts = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.suffix != ".png"}
    texts["_variables.yml"] = study.variables_path.read_text(encoding="utf-8")
    return texts


def test_results_write_every_table_and_figure(tmp_path):
    study = make_results_study(tmp_path)
    write_results(study, check=False)
    names = {p.name for p in study.results_dir.iterdir()}
    for table in TABLES:
        assert {f"tbl-{table}.md", f"tbl-{table}.csv"} <= names, table
    for figure in ("flow", "trajectories", "employment"):
        assert {f"fig-{figure}.svg", f"fig-{figure}.png", f"fig-{figure}.md"} <= names, figure
    assert (study.results_dir / "fig-flow.png").read_bytes().startswith(b"\x89PNG")
    scores = (study.results_dir / "tbl-scores.md").read_text(encoding="utf-8")
    assert scores.rstrip().endswith("{#tbl-scores}")
    variables = yaml.safe_load(study.variables_path.read_text(encoding="utf-8"))
    assert variables["n"] == {
        "enrolled": 3,
        "analysed": 2,
        "withdrawn": 1,
        "waves": 2,
        "instruments": 1,
        "themes": 2,
        "quotes": 1,
        "propositions": 0,
    }
    assert set(variables["provenance"]) == {"commit", "dirty", "checksum", "generated", "studykit"}
    numbers = json.loads((study.results_dir / "results.json").read_text(encoding="utf-8"))
    t1 = next(c for c in numbers["scores"] if c["construct"] == "wemwbs.total" and c["wave"] == "T1")
    assert (t1["n"], t1["mean"]) == (2, 49.0)  # P001 42 and P002 56; P003 removed at their request
    figure = (study.results_dir / "fig-trajectories.md").read_text(encoding="utf-8")
    assert figure.startswith("![")
    assert '{#fig-trajectories fig-alt="' in figure
    assert "T1 49.00 (n = 2)" in figure


def test_results_leave_out_excluded_participants_and_unconsented_quotes(tmp_path):
    study = make_results_study(tmp_path)
    write_results(study, check=False)
    texts = outputs(study)
    hope = "Hope, mostly. People see that recovery is possible."  # P002: no quotation consent
    for name, text in texts.items():
        assert "P003" not in text, name  # asked for all their data to be removed
        assert hope not in text, name
    assert "Supervision every week." in texts["tbl-themes.md"]  # P001 consented to quotation
    assert "No quotable segment." in texts["tbl-themes.md"]


def test_results_are_byte_identical_when_run_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    study = make_results_study(tmp_path)
    write_results(study, check=False)
    first = {p.name: p.read_bytes() for p in study.results_dir.iterdir()}
    write_results(study, check=False)
    assert {p.name: p.read_bytes() for p in study.results_dir.iterdir()} == first
    assert json.loads(first["results.json"])["provenance"]["generated"] == "2023-11-14T22:13:20Z"


def test_an_empty_study_gets_every_file_as_a_sentence(tmp_path):
    root = tmp_path / "empty"
    (root / "data").mkdir(parents=True)
    (root / "study.yml").write_text(yaml.safe_dump(design(instruments=[], strands={"qualitative": []})))
    (root / "data" / "participants.csv").write_text("participant_id,group,enrolled_on\n", encoding="utf-8")
    (root / "governance").mkdir()
    (root / "governance" / "consent.csv").write_text(CONSENT.splitlines()[0] + "\n", encoding="utf-8")
    (root / "governance" / "withdrawals.csv").write_text(WITHDRAWALS.splitlines()[0] + "\n", encoding="utf-8")
    (root / "governance" / "ethics.yml").write_text(yaml.safe_dump(ETHICS), encoding="utf-8")
    study = load_study(root)
    write_results(study, check=False)
    published = (study.results_dir / "tbl-published.md").read_text(encoding="utf-8")
    assert (
        published
        == "This study sets no published numbers beside its own (reports/published.yml is absent).\n"
    )
    for table in TABLES:
        text = (study.results_dir / f"tbl-{table}.md").read_text(encoding="utf-8")
        if table != "provenance":
            assert "{#tbl-" not in text, table
            assert text.strip().endswith("."), table
    assert "{#fig-" not in (study.results_dir / "fig-trajectories.md").read_text(encoding="utf-8")


def test_results_refuse_data_with_validation_errors(tmp_path):
    study = make_results_study(
        tmp_path, **{"data/measures/wemwbs.csv": MEASURES.replace("P002,T1", "P0x2,T1")}
    )
    result = CliRunner().invoke(app, ["results", "--study-dir", str(study.root)])
    assert result.exit_code == 1
    assert "Results stopped: validation found" in result.stderr
    assert not study.results_dir.exists()


def test_results_command_writes_and_reports_json(tmp_path):
    study = make_results_study(tmp_path, **{"governance/withdrawals.csv": WITHDRAWALS.splitlines()[0] + "\n"})
    result = CliRunner().invoke(app, ["results", "--study-dir", str(study.root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    written = json.loads(result.stdout)
    assert written["folder"] == "reports/_results"
    assert "reports/_variables.yml" in written["files"]
    assert f"Wrote {len(written['files'])} files" in result.stderr
    # The involvement tables are written with the other results (a sentence when there is no log).
    assert "reports/_results/tbl-gripp2.md" in written["files"]


# --- REP rules ------------------------------------------------------------------------------------


def rep(study) -> list[list]:
    return sorted([f.code, f.value] for f in reports.check(Run(study)))


def test_rep001_rep002_unlinked_construct_and_theme_once_propositions_exist(tmp_path):
    study = make_results_study(
        tmp_path, **{"reports/propositions.yml": "- {id: PR1, statement: S., themes: [support]}\n"}
    )
    assert rep(study) == [["REP001", "wemwbs.total"], ["REP002", "hope"]]


def test_no_link_warnings_without_propositions(tmp_path):
    assert rep(make_results_study(tmp_path, **{"reports/propositions.yml": "[]\n"})) == []


def test_rep003_unknown_construct_or_theme(tmp_path):
    text = (
        "- {id: PR1, statement: S., constructs: [wemwbs.total, phq9.total], themes: [support, hope, nope]}\n"
    )
    assert rep(make_results_study(tmp_path, **{"reports/propositions.yml": text})) == [
        ["REP003", "nope"],
        ["REP003", "phq9.total"],
    ]


def test_rep003_and_rep005_point_at_the_line(tmp_path):
    text = ("- id: PR1\n  statement: S.\n  constructs:\n    - wemwbs.total\n    - phq9.total\n"
            "  themes: [support, hope]\n")  # fmt: skip
    checklist = "- {id: GRAMMS-1, text: Justify, answered_in: index.qmd}\n- {id: GRAMMS-2, text: Design}\n"
    files = {"reports/propositions.yml": text, "reports/checklists.yml": checklist}
    found = reports.check(Run(make_results_study(tmp_path, **files)))
    where = {f.code: (f.row, f.column, f.value) for f in found if f.code in ("REP003", "REP005")}
    assert where == {"REP003": (5, "constructs", "phq9.total"), "REP005": (2, "answered_in", "GRAMMS-2")}


def test_rep003_leaves_themes_alone_without_a_themes_file(tmp_path):
    text = "- {id: PR1, statement: S., constructs: [wemwbs.total], themes: [support]}\n"
    study = make_results_study(tmp_path, **{"reports/propositions.yml": text})
    study.themes_path.unlink()
    assert rep(study) == []


def test_rep004_malformed_propositions_with_line(tmp_path):
    text = "- {id: PR1, statement: S., constructs: [wemwbs.total], themes: [support, hope]}\n- {id: PR2}\n"
    study = make_results_study(tmp_path, **{"reports/propositions.yml": text})
    assert [[f.code, f.row, f.column] for f in reports.check(Run(study))] == [["REP004", 2, "statement"]]


def test_rep004_shows_the_value_it_could_not_take(tmp_path):
    text = "- {id: PR1, statement: S., constructs: [wemwbs.total], themes: [support, hope],"
    text += " fit: complementarity}\n"
    study = make_results_study(tmp_path, **{"reports/propositions.yml": text})
    (found,) = reports.check(Run(study))
    assert (found.code, found.row, found.column, found.value) == ("REP004", 1, "fit", "complementarity")


def test_rep005_rep006_unanswered_and_missing_checklist_items(tmp_path):
    text = "- {id: GRAMMS-1, text: Justify, answered_in: index.qmd}\n- {id: GRAMMS-2, text: Design}\n"
    study = make_results_study(tmp_path, **{"reports/checklists.yml": text})
    found = rep(study)
    assert found[0] == ["REP005", "GRAMMS-2"]
    assert [v for c, v in found if c == "REP006"] == ["GRAMMS-3", "GRAMMS-4", "GRAMMS-5", "GRAMMS-6"]


def test_validate_runs_the_report_rules(tmp_path):
    study = make_results_study(tmp_path, **{"reports/checklists.yml": "- {id: GRAMMS-1, text: Justify}\n"})
    assert "REP005" in validate(study).codes()


@pytest.mark.parametrize("adjustment", ["holm", "bh"])
def test_adjustment_and_exploratory_label_follow_study_yml(tmp_path, adjustment):
    study = make_results_study(tmp_path)
    data = yaml.safe_load(study.study_file.read_text())
    data["analysis"] = {"adjustment": adjustment, "exploratory": True}
    study.study_file.write_text(yaml.safe_dump(data))
    study = load_study(study.root)
    write_results(study, check=False)
    change = (study.results_dir / "tbl-change.md").read_text(encoding="utf-8")
    numbers = json.loads((study.results_dir / "results.json").read_text(encoding="utf-8"))["change"]
    assert (numbers["adjustment"], numbers["exploratory"]) == (adjustment, True)
    assert (
        "Holm" if adjustment == "holm" else "Benjamini-Hochberg"
    ) in change or "No paired change" in change


def test_table_cells_escape_markdown_and_keep_only_the_researchers_cross_references():
    from studykit.results import Table

    data = Table("themes", "Themes", ["Quote"], [["[laughs] a | b *c* @tbl-x <i>"]]).markdown()
    assert "| \\[laughs\\] a \\| b \\*c\\* \\@tbl-x \\<i\\> |" in data
    answers = Table("gramms", "GRAMMS", ["Where"], [["integration.qmd: @tbl-joint-display"]], references=True)
    assert "| integration.qmd: @tbl-joint-display |" in answers.markdown()
    assert answers.markdown().endswith(": GRAMMS {#tbl-gramms}\n")
