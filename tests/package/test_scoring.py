"""Scoring: hand-worked examples, the published SWEMWBS table, properties against a plain scorer."""

from __future__ import annotations

import io
import math
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studykit import load_study
from studykit.cli import app
from studykit.errors import DataReadError, StudyConfigError
from studykit.instruments import Instrument, library_ids, load_library_instrument
from studykit.instruments.scoring import score_frame, score_study, scores_table
from typer.testing import CliRunner

from tests.package import designs

# The SWEMWBS raw -> metric table as printed in shared/domain/instruments.md (Warwick guidance).
SWEMWBS_TABLE = {
    7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32, 15: 15.84,
    16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98, 23: 20.73, 24: 21.54,
    25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03, 31: 28.13, 32: 29.31, 33: 30.70,
    34: 32.55, 35: 35.00,
}  # fmt: skip


def frame(instrument: Instrument, *rows: list[int | None]) -> pl.DataFrame:
    """Rows of item codes (None = unanswered) with participant and wave keys."""
    data: dict[str, list[object]] = {
        "participant_id": [f"P{i:03d}" for i in range(1, len(rows) + 1)],
        "wave": ["T1"] * len(rows),
    }
    for index, item in enumerate(instrument.item_ids):
        data[item] = [row[index] for row in rows]
    return pl.DataFrame(data, schema_overrides=dict.fromkeys(instrument.item_ids, pl.Int64))


def scores(instrument_id: str, *rows: list[int | None]) -> list[dict[str, object]]:
    instrument = load_library_instrument(instrument_id)
    return score_frame(instrument, frame(instrument, *rows)).to_dicts()


def round_half_up(value: float, decimals: int) -> float:
    scale = 10**decimals
    return math.floor(value * scale + 0.5 + 1e-9) / scale


def reference_score(instrument: Instrument, score_id: str, codes: dict[str, int | None]) -> float | None:
    """A deliberately plain, row-at-a-time reading of the same rules, to check the polars version."""
    score = instrument.score(score_id)
    values = []
    for item_id in score.items:
        item, code = instrument.item(item_id), codes.get(item_id)
        response = instrument.response_for(item)
        if code is None or not response.min <= code <= response.max:
            continue
        values.append(response.value(code, reverse=item.reverse))
    answered, n = len(values), len(score.items)
    if answered == 0 or answered < score.required_items:
        return None
    if score.method == "mean":
        result = sum(values) / answered
    else:
        raw = sum(values) if answered == n or not score.prorate else sum(values) * n / answered
        result = score.conversion.get(int(round_half_up(raw, 0))) if score.method == "conversion" else raw
        if result is None:
            return None
    return round_half_up(result, score.decimals)


# --- hand-worked examples, one or more per instrument --------------------------------------------


def test_wemwbs_total_is_the_sum_and_needs_every_item():
    rows = scores("wemwbs", [4] * 14, [4] * 13 + [None], [1] * 14, [5] * 14)
    assert [(r["total"], r["total_items"]) for r in rows] == [(56.0, 14), (None, 13), (14.0, 14), (70.0, 14)]


def test_swemwbs_scores_raw_and_metric():
    # 3+4+2+5+3+4+3 = 24 -> 21.54 in the conversion table
    (row,) = scores("swemwbs", [3, 4, 2, 5, 3, 4, 3])
    assert (row["raw"], row["metric"], row["metric_items"]) == (24.0, 21.54, 7)


@pytest.mark.parametrize(("raw", "metric"), list(SWEMWBS_TABLE.items()))
def test_swemwbs_conversion_reproduces_every_row_of_the_published_table(raw, metric):
    extra = raw - 7  # spread the points above 1 over the seven items, at most 4 each
    codes = [1 + min(4, max(0, extra - 4 * i)) for i in range(7)]
    assert sum(codes) == raw
    (row,) = scores("swemwbs", codes)
    assert row["raw"] == raw
    assert row["metric"] == metric


def test_swemwbs_metric_is_missing_when_an_item_is():
    (row,) = scores("swemwbs", [3, 3, 3, 3, 3, 3, None])
    assert (row["raw"], row["metric"], row["metric_items"]) == (None, None, 6)


def test_cbi_codes_score_100_to_0_and_work_item_7_is_reversed():
    # personal: codes 1..5 + 3 -> 100, 75, 50, 25, 0, 50: mean 50
    # work: items 7-12 all code 2 (75); item 13 code 1 ("always" has energy) reversed -> 0: (6*75 + 0)/7
    # client: all code 5 -> 0
    (row,) = scores("cbi", [1, 2, 3, 4, 5, 3] + [2] * 6 + [1] + [5] * 6)
    assert row["personal"] == 50.0
    assert row["work"] == round_half_up(450 / 7, 2) == 64.29
    assert row["client"] == 0.0


def test_cbi_reverse_item_alone_moves_the_work_score_the_other_way():
    always, never = scores("cbi", [3] * 12 + [1] + [3] * 6, [3] * 12 + [5] + [3] * 6)
    assert always["work"] < never["work"]
    assert never["work"] == round_half_up((6 * 50 + 100) / 7, 2)


def test_cbi_minimum_items_per_scale():
    rows = scores(
        "cbi",
        [1, 1, 1, None, None, None, 1, 1, 1, 1, None, None, None, 1, 1, 1, None, None, None],
        [1, 1, None, None, None, None, 1, 1, 1, None, None, None, None, 1, 1, None, None, None, None],
    )
    enough, too_few = rows
    assert (enough["personal"], enough["work"], enough["client"]) == (100.0, 100.0, 100.0)
    assert (enough["personal_items"], enough["work_items"], enough["client_items"]) == (3, 4, 3)
    assert (too_few["personal"], too_few["work"], too_few["client"]) == (None, None, None)
    assert (too_few["personal_items"], too_few["work_items"], too_few["client_items"]) == (2, 3, 2)


def test_phq9_prorates_up_to_two_missing_items_and_rounds():
    rows = scores(
        "phq9",
        [1, 2, 3, 0, 1, 2, 3, 0, 1],  # complete: 13
        [1, 2, 3, 0, 1, 2, 3, 0, None],  # 12 from 8 items: 12 * 9 / 8 = 13.5 -> 14
        [1, 2, 3, 0, 1, 2, 3, None, None],  # 12 from 7 items: 12 * 9 / 7 = 15.43 -> 15
        [1, 2, 3, 0, 1, 2, None, None, None],  # 3 missing: no score
    )
    assert [(r["total"], r["total_items"]) for r in rows] == [(13.0, 9), (14.0, 8), (15.0, 7), (None, 6)]


def test_phq8_prorates_and_gad7_allows_one_missing_item():
    (phq8,) = scores("phq8", [3, 3, 3, 3, 3, 3, None, None])
    assert phq8["total"] == 24.0
    complete, one, two = scores("gad7", [2] * 7, [2] * 6 + [None], [2] * 5 + [None, None])
    assert (complete["total"], one["total"], two["total"]) == (14.0, 14.0, None)


def test_mbi_hss_subscales_use_their_own_items():
    codes = [0] * 22
    for item in (1, 2, 3, 6, 8, 13, 14, 16, 20):
        codes[item - 1] = 6
    for item in (5, 10, 11, 15, 22):
        codes[item - 1] = 2
    (row,) = scores("mbi_hss", codes)
    assert (row["emotional_exhaustion"], row["depersonalisation"], row["personal_accomplishment"]) == (
        54,
        10,
        0,
    )


def test_warr_cook_wall_total_and_subscales():
    codes = [7 if i % 2 else 1 for i in range(1, 16)]  # odd items (extrinsic) 7, even (intrinsic) 1
    (row,) = scores("warr_cook_wall", codes)
    assert (row["total"], row["extrinsic"], row["intrinsic"]) == (63.0, 56.0, 7.0)


def test_out_of_range_codes_count_as_unanswered():
    (row,) = scores("gad7", [9, 1, 1, 1, 1, 1, 1])
    assert (row["total"], row["total_items"]) == (7.0, 6)


def test_rows_keep_their_order_and_missing_item_columns_are_unanswered():
    instrument = load_library_instrument("gad7")
    data = frame(instrument, [3] * 7, [0] * 7, [1] * 7).drop("item_07")
    result = score_frame(instrument, data)
    assert result.get_column("participant_id").to_list() == ["P001", "P002", "P003"]
    assert result.get_column("total").to_list() == [21.0, 0.0, 7.0]  # prorated from 6 items
    assert result.get_column("total_items").to_list() == [6, 6, 6]


# --- properties --------------------------------------------------------------------------------


@st.composite
def answers(draw: st.DrawFn, instrument_id: str) -> tuple[Instrument, list[int | None]]:
    instrument = load_library_instrument(instrument_id)
    codes = []
    for item in instrument.items:
        response = instrument.response_for(item)
        codes.append(draw(st.none() | st.integers(response.min, response.max)))
    return instrument, codes


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("instrument_id", library_ids())
@SETTINGS
@given(data=st.data())
def test_scores_are_within_range_and_match_a_plain_implementation(instrument_id, data):
    instrument, codes = data.draw(answers(instrument_id))
    (row,) = score_frame(instrument, frame(instrument, codes)).to_dicts()
    by_item = dict(zip(instrument.item_ids, codes, strict=True))
    for score in instrument.scores:
        value = row[score.id]
        assert value == reference_score(instrument, score.id, by_item), score.id
        assert row[f"{score.id}_items"] == sum(by_item[i] is not None for i in score.items)
        if value is not None:
            assert score.range[0] <= value <= score.range[1]


@pytest.mark.parametrize("instrument_id", library_ids())
@SETTINGS
@given(data=st.data())
def test_raising_one_code_moves_scores_the_way_its_direction_says(instrument_id, data):
    instrument, codes = data.draw(answers(instrument_id))
    index = data.draw(st.integers(0, len(codes) - 1))
    item = instrument.items[index]
    response = instrument.response_for(item)
    if codes[index] is None or codes[index] == response.max:
        return
    higher = list(codes)
    higher[index] = codes[index] + 1
    before, after = score_frame(instrument, frame(instrument, codes, higher)).to_dicts()
    # Higher codes score lower where the values run downwards (CBI: 1 = always = 100).
    rising = response.value(response.max) > response.value(response.min)
    up = rising != item.reverse
    for score in instrument.scores:
        if item.id not in score.items or before[score.id] is None:
            continue
        if up:
            assert after[score.id] >= before[score.id], score.id
        else:
            assert after[score.id] <= before[score.id], score.id


# --- reading a study, the command ------------------------------------------------------------------


CONSENT_HEADER = (
    "participant_id,form_version,consented_on,participate,audio_recording,direct_quotation,archiving,future_contact"
)


def make_study(tmp_path: Path, measures: dict[str, str]) -> Path:
    design = designs.design(
        title="Scoring study", instruments=list(measures), strands={}, archive={"target": "Zenodo"}
    )
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
    # Both participants consented before collection, so the consent filter keeps every row.
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "consent.csv").write_text(
        f"{CONSENT_HEADER}\nP001,1.0,2024-01-01,yes,,,,\nP002,1.0,2024-01-01,yes,,,,\n", encoding="utf-8"
    )
    (tmp_path / "governance" / "withdrawals.csv").write_text("participant_id,withdrawn_on,reason,scope\n")
    (tmp_path / "governance" / "ethics.yml").write_text("approvals: []\n")
    (tmp_path / "data" / "measures").mkdir(parents=True)
    for instrument_id, rows in measures.items():
        items = load_library_instrument(instrument_id).item_ids
        header = ",".join(["participant_id", "wave", "completed_on", *items])
        (tmp_path / "data" / "measures" / f"{instrument_id}.csv").write_text(
            f"{header}\n{rows}", encoding="utf-8"
        )
    return tmp_path


GAD7_ROWS = (
    "P002,T1,2024-01-05,1,1,1,1,1,1,1\nP001,T1,2024-01-04,3,3,3,3,3,3,\nP001,T2,2024-05-04,0,0,,,0,0,0\n"
)
PHQ8_ROWS = "P001,T1,2024-01-04,1,1,1,1,1,1,1,1\n"


def test_score_study_reads_each_measure_table(tmp_path):
    result = score_study(load_study(make_study(tmp_path, {"gad7": GAD7_ROWS})))
    assert result["gad7"].get_column("total").to_list() == [7.0, 21.0, None]


def test_score_study_names_the_bad_cell(tmp_path):
    root = make_study(tmp_path, {"gad7": "P001,T1,2024-01-04,3,x,3,3,3,3,3\n"})
    with pytest.raises(DataReadError, match=r"gad7\.csv: row 2, column item_02: 'x' is not a valid integer"):
        score_study(load_study(root))


def test_scores_table_joins_instruments_on_participant_and_wave(tmp_path):
    table = scores_table(load_study(make_study(tmp_path, {"gad7": GAD7_ROWS, "phq8": PHQ8_ROWS})))
    assert table.columns == [
        "participant_id",
        "wave",
        "gad7.total",
        "gad7.total_items",
        "phq8.total",
        "phq8.total_items",
    ]
    assert table.select("participant_id", "wave", "phq8.total").rows() == [
        ("P001", "T1", 8.0),
        ("P001", "T2", None),
        ("P002", "T1", None),
    ]


def test_scores_table_rejects_an_instrument_the_study_does_not_use(tmp_path):
    with pytest.raises(StudyConfigError, match=r"does not list instrument 'phq9'\. Use one of: gad7\."):
        scores_table(load_study(make_study(tmp_path, {"gad7": GAD7_ROWS})), "phq9")


def test_score_command_writes_csv_to_stdout(tmp_path):
    root = make_study(tmp_path, {"gad7": GAD7_ROWS})
    result = CliRunner().invoke(app, ["score", "--instrument", "gad7", "--study-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "participant_id,wave,total,total_items\nP001,T1,21.0,6\nP001,T2,,5\nP002,T1,7.0,7\n"
    )


def test_score_command_writes_a_file(tmp_path):
    root = make_study(tmp_path, {"gad7": GAD7_ROWS})
    target = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["score", "--output", str(target), "--study-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert (
        target.read_text(encoding="utf-8").splitlines()[0]
        == "participant_id,wave,gad7.total,gad7.total_items"
    )
    assert result.stdout == ""


def test_score_command_exit_2_on_unknown_instrument(tmp_path):
    root = make_study(tmp_path, {"gad7": GAD7_ROWS})
    result = CliRunner().invoke(app, ["score", "-i", "nope", "--study-dir", str(root)])
    assert result.exit_code == 2
    assert "does not list instrument 'nope'" in result.stderr


def test_uneven_response_values_are_looked_up():
    instrument = Instrument.model_validate({
        "id": "uneven", "name": "Uneven", "version": "1", "construct": "test", "citation": "Invented.",
        "licence": {"item_text_allowed": True, "note": "Invented."},
        "response": {"min": 1, "max": 3, "values": {1: 0, 2: 10, 3: 50}},
        "items": [{"id": "item_01"}, {"id": "item_02", "reverse": True}],
        "scores": [
            {"id": "total", "name": "T", "items": ["item_01", "item_02"], "method": "sum", "range": [0, 100]}
        ],
    })  # fmt: skip
    result = score_frame(instrument, frame(instrument, [3, 3], [2, 1], [1, 2]))
    assert result.get_column("total").to_list() == [50.0, 60.0, 10.0]


def test_score_command_applies_the_consent_filter(tmp_path):
    from tests.conftest import bake

    study = bake(tmp_path)  # the example study: P033 asked to remove all data
    result = CliRunner().invoke(app, ["score", "-C", str(study), "--instrument", "wemwbs"])
    assert result.exit_code == 0, result.output
    scored = pl.read_csv(io.StringIO(result.stdout))
    raw = pl.read_csv(study / "data" / "measures" / "wemwbs.csv")
    assert "P033" in raw.get_column("participant_id").to_list()
    assert "P033" not in scored.get_column("participant_id").to_list()
    assert scored.filter(pl.col("wave") == "T1").height == 32
    assert "Consent filter (removal_requested): left out 1 row(s) of 1 participant(s)" in result.stderr


# --- scoring refuses data that fail validation ----------------------------------------------------

# P001 T1 item_03 is 4 on a 0-3 scale; P002 T1 is typed twice.
FAILING_GAD7 = (
    "P001,T1,2024-01-04,3,3,4,3,3,3,3\n"
    "P002,T1,2024-01-05,1,1,1,1,1,1,1\n"
    "P002,T1,2024-01-05,2,2,2,2,2,2,2\n"
    "P001,T2,2024-05-04,0,0,0,0,0,0,0\n"
)


def test_score_command_refuses_data_with_errors_and_names_them(tmp_path):
    root = make_study(tmp_path, {"gad7": FAILING_GAD7})
    result = CliRunner().invoke(app, ["score", "-i", "gad7", "-C", str(root)])
    assert result.exit_code == 1
    assert result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "Scoring stopped: validation found 2 errors in the key and item columns" in message
    assert "STR009 value out of range (data/measures/gad7.csv, row 2, item_03)" in message
    assert "STR012 duplicate key (data/measures/gad7.csv, row 4, participant_id, wave)" in message
    assert "--allow-errors" in message


def test_checked_scores_raise_with_the_findings(tmp_path):
    from studykit.errors import DataErrorsFound
    from studykit.instruments.scoring import checked_scores_table

    study = load_study(make_study(tmp_path, {"gad7": FAILING_GAD7}))
    with pytest.raises(DataErrorsFound) as caught:
        checked_scores_table(study, "gad7")
    assert [(f.code, f.row, f.column) for f in caught.value.findings] == [
        ("STR009", 2, "item_03"),
        ("STR012", 4, "participant_id, wave"),
    ]


def test_allow_errors_leaves_out_and_marks_what_the_errors_name(tmp_path):
    root = make_study(tmp_path, {"gad7": FAILING_GAD7})
    result = CliRunner().invoke(app, ["score", "-i", "gad7", "--allow-errors", "-C", str(root)])
    assert result.exit_code == 0, result.output
    scored = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    assert scored.rows() == [
        # the out-of-range item is unanswered: 6 of 7 items, prorated (GAD-7 allows one missing)
        ("P001", "T1", "21.0", "6", "item_03: value out of range (STR009)"),
        ("P001", "T2", "0.0", "7", None),
        # a repeated participant and wave is never scored, in either row
        ("P002", "T1", None, "0", "participant_id, wave: repeated in another row, not scored"),
        ("P002", "T1", None, "0", "participant_id, wave: duplicate key (STR012)"),
    ]
    assert "Scored despite 2 validation error(s)" in result.stderr


def test_clean_data_are_scored_without_a_left_out_column(tmp_path):
    root = make_study(tmp_path, {"gad7": GAD7_ROWS})
    result = CliRunner().invoke(app, ["score", "-i", "gad7", "--allow-errors", "-C", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "participant_id,wave,total,total_items"
