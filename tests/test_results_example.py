"""`studykit results` on the baked example: Table 3 beside the paper's, consent, same bytes again.

The results are computed in the baked study by its own copy of studykit (a subprocess),
then read back as files; the numbers are checked against pingouin on the same scores.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pingouin as pg
import pytest
from studykit import load_study
from studykit.checks import validate
from studykit.governance.consent_filter import ConsentFilter
from studykit.qual.quotes import may_quote
from studykit.qual.transcripts import PARTICIPANT_ID, load_transcripts

from example import sources
from tests.conftest import bake

EPOCH = "1717243200"


def run_results(study: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(study / "src"), "SOURCE_DATE_EPOCH": EPOCH}
    return subprocess.run(
        [sys.executable, "-m", "studykit", "results"],
        cwd=study,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    study = bake(tmp_path_factory.mktemp("results"))
    done = run_results(study)
    assert done.returncode == 0, done.stderr
    return study


def result_json(study: Path) -> dict:
    return json.loads((study / "reports" / "_results" / "results.json").read_text(encoding="utf-8"))


def test_published_table3_beside_the_example_every_cell_the_same(example):
    numbers = result_json(example)["published"]
    assert len(numbers) == len(sources.published())
    assert [f"{c['construct']} {c['wave']}" for c in numbers if not c["same"]] == []
    table = list(csv.DictReader(io.StringIO((example / "reports/_results/tbl-published.csv").read_text())))
    wemwbs_t2 = next(r for r in table if r["Wave"] == "T2" and r["Score"].startswith("Wellbeing"))
    assert (wemwbs_t2["Published n"], wemwbs_t2["Published mean (SD)"]) == ("20", "47.7 (9.17)")
    assert (wemwbs_t2["This study n"], wemwbs_t2["This study mean (SD)"]) == ("20", "47.7 (9.17)")
    markdown = (example / "reports/_results/tbl-published.md").read_text(encoding="utf-8")
    assert markdown.rstrip().endswith("{#tbl-published}")


def test_example_published_yml_is_generated_from_table3(example):
    import yaml

    published = yaml.safe_load((example / "reports" / "published.yml").read_text(encoding="utf-8"))
    table3 = sources.load("table3")
    assert published["doi"] == table3["doi"]
    for construct, row in table3["scores"].items():
        for wave in sources.WAVE_IDS:
            if row.get(wave):
                assert published["scores"][construct][wave] == {k: row[wave][k] for k in ("n", "mean", "sd")}


def test_paired_change_matches_pingouin_on_the_example_scores(example):
    from studykit.instruments.scoring import scores_table

    study = load_study(example)
    scores = scores_table(study, consent=ConsentFilter.from_study(study))
    tests = {(t["construct"], t["to"]): t for t in result_json(example)["change"]["tests"]}
    for construct in ("wemwbs.total", "cbi.personal", "mjs.prospects"):
        wide = scores.pivot(on="wave", index="participant_id", values=construct)
        for later in ("T2", "T3"):
            pairs = wide.select("T1", later).drop_nulls()
            reference = pg.ttest(pairs[later].to_numpy(), pairs["T1"].to_numpy(), paired=True)
            mine = tests[(construct, later)]
            assert mine["n"] == pairs.height
            assert mine["t"] == pytest.approx(float(reference["T"].iloc[0]), abs=1e-5)
            assert mine["p"] == pytest.approx(float(reference["p_val"].iloc[0]), abs=1e-5)
    assert result_json(example)["change"]["adjustment"] == "holm"
    assert all(t["p_adjusted"] >= t["p"] for t in tests.values() if t["p"] is not None)


def test_no_excluded_participant_or_their_words_in_any_output(example):
    study = load_study(example)
    consent = ConsentFilter.from_study(study)
    outputs = [p for p in (example / "reports" / "_results").iterdir() if p.suffix != ".png"]
    outputs.append(example / "reports" / "_variables.yml")
    texts = {p.name: p.read_text(encoding="utf-8") for p in outputs}
    removed = ["P033"]  # asked for all their data to be removed
    unquotable: set[str] = set()
    for transcript in load_transcripts(study):
        for turn in transcript.turns:
            if not PARTICIPANT_ID.match(turn.speaker):
                continue
            words = transcript.body[turn.start : turn.end].strip()
            if turn.speaker in removed or not may_quote(consent, turn.speaker, transcript):
                unquotable.add(words)
    assert unquotable, "the example has participants who may not be quoted"
    for name, text in texts.items():
        for participant in removed:
            assert participant not in text, name
        for words in unquotable:
            assert words[:60] not in text, (name, words[:60])
    themes = result_json(example)["themes"]
    assert sum(len(t["quotes"]) for t in themes) == result_json(example)["quotes"] > 0


def test_results_twice_give_the_same_bytes(example):
    folder = example / "reports" / "_results"
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert run_results(example).returncode == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first


def test_example_validates_without_report_warnings(example):
    assert [f.code for f in validate(load_study(example)).findings if f.code.startswith("REP")] == []


def test_example_variables_for_prose(example):
    import yaml

    variables = yaml.safe_load((example / "reports" / "_variables.yml").read_text(encoding="utf-8"))
    assert variables["study"]["synthetic"] is True
    assert variables["n"]["analysed"] == 42  # 32 peer workers and 10 staff of the focus groups
    assert (variables["n"]["themes"], variables["n"]["propositions"]) == (5, 6)
    assert variables["provenance"]["generated"] == "2024-06-01T12:00:00Z"
