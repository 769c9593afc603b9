"""The report's statistics against scipy and pingouin on the same data (studykit.analysis)."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from studykit.analysis import (
    adjust,
    compare_with_norm,
    paired_change,
    parse_checklists,
    parse_propositions,
    participant_flow,
    sample_characteristics,
    summarise,
)
from studykit.analysis.flow import Withdrawn
from studykit.instruments.model import Norm
from studykit.study import Study

from tests.package.designs import design

SEEDS = [1, 2, 3, 7, 42]
values = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=2, max_size=60)


def pairs(seed: int, n: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    before = rng.normal(50, 9, n).round(0)
    return before, (before + rng.normal(-2, 6, n)).round(0)


@settings(max_examples=60, deadline=None)
@given(values)
def test_summarise_matches_the_standard_library(data):
    summary = summarise(data)
    assert summary.n == len(data)
    assert summary.mean == pytest.approx(statistics.fmean(data), abs=1e-9)
    assert summary.sd == pytest.approx(statistics.stdev(data), rel=1e-9, abs=1e-9)
    assert (summary.low, summary.high) == (min(data), max(data))


def test_summarise_leaves_out_missing_values_and_has_no_sd_for_one():
    assert summarise([3.0, None, float("nan")]).to_dict() == {
        "n": 1,
        "mean": 3.0,
        "sd": None,
        "low": 3.0,
        "high": 3.0,
    }
    assert summarise([]).n == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_change_matches_scipy_and_pingouin(seed):
    before, after = pairs(seed)
    change = paired_change(before.tolist(), after.tolist())
    scipy_result = stats.ttest_rel(after, before)
    interval = scipy_result.confidence_interval(0.95)
    reference = pg.ttest(after, before, paired=True)
    assert change.n == len(before)
    assert change.df == int(reference["dof"].iloc[0]) == len(before) - 1
    assert change.t == pytest.approx(scipy_result.statistic) == pytest.approx(float(reference["T"].iloc[0]))
    assert change.p == pytest.approx(scipy_result.pvalue) == pytest.approx(float(reference["p_val"].iloc[0]))
    assert (change.ci_low, change.ci_high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    low, high = reference["CI95"].iloc[0]
    assert (round(change.ci_low, 2), round(change.ci_high, 2)) == (pytest.approx(low), pytest.approx(high))
    differences = after - before
    assert change.mean_difference == pytest.approx(differences.mean())
    assert change.d_z == pytest.approx(change.t / math.sqrt(change.n))
    assert change.d_z == pytest.approx(differences.mean() / differences.std(ddof=1))
    # d_av (Lakens 2013): the mean of the two SDs. pingouin's paired Cohen d divides by the root
    # mean square of the SDs instead, so it differs unless the SDs are equal.
    assert change.d_av == pytest.approx(differences.mean() / ((before.std(ddof=1) + after.std(ddof=1)) / 2))
    root_mean_square = math.sqrt((before.var(ddof=1) + after.var(ddof=1)) / 2)
    assert abs(pg.compute_effsize(after, before, paired=True, eftype="cohen")) == pytest.approx(
        abs(differences.mean()) / root_mean_square
    )


def test_paired_change_uses_available_pairs_only():
    change = paired_change([1.0, 2.0, None, 4.0, 5.0], [2.0, None, 3.0, 6.0, 5.5])
    assert change.n == 3
    assert change.mean_difference == pytest.approx((1 + 2 + 0.5) / 3)
    assert paired_change([1.0], [2.0]).t is None


@pytest.mark.parametrize(("method", "reference"), [("holm", "holm"), ("bh", "fdr_bh")])
@pytest.mark.parametrize("seed", SEEDS)
def test_adjust_matches_pingouin(method, reference, seed):
    pvalues = np.random.default_rng(seed).uniform(0, 0.2, 12).tolist()
    _, expected = pg.multicomp(pvalues, method=reference)
    assert adjust(pvalues, method) == pytest.approx(expected.tolist())


def test_adjust_keeps_missing_p_values_in_place():
    assert adjust([0.01, None, 0.04], "holm") == [pytest.approx(0.02), None, pytest.approx(0.04)]
    with pytest.raises(ValueError, match="unknown adjustment"):
        adjust([0.1], "bonferroni-ish")


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_comparison_matches_scipy_one_sample_t(seed):
    sample = np.random.default_rng(seed).normal(49.8, 9, 32).round(0)
    norm = Norm(score="total", population="test", mean=51.6, sd=8.71, source="invented")
    compared = compare_with_norm(sample.tolist(), norm)
    expected = stats.ttest_1samp(sample, 51.6)
    assert (compared.t, compared.p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert compared.df == 31
    assert compared.d == pytest.approx((sample.mean() - 51.6) / 8.71)
    assert float(pg.ttest(sample, 51.6)["T"].iloc[0]) == pytest.approx(compared.t)


def test_gillard_worked_example_standardised_difference():
    """Gillard T1 WEMWBS mean 49.8 against the norm 51.6 (8.71): d is about -0.21."""
    norm = Norm(score="total", population="test", mean=51.6, sd=8.71, source="invented")
    assert compare_with_norm([49.8 - 1, 49.8 + 1], norm).d == pytest.approx(-0.2067, abs=1e-4)


def test_sample_characteristics_by_group():
    import polars as pl

    frame = pl.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3"],
            "group": ["a", "a", "b"],
            "age": ["30", "40", ""],
            "gender": ["woman", "man", "woman"],
        }
    )
    groups, rows = sample_characteristics(frame)
    assert groups == ["a", "b", "all"]
    by = {(r.characteristic, r.level): r.cells for r in rows}
    assert by[("Participants", "n")] == {"a": "2", "b": "1", "all": "3"}
    assert by[("age", "mean (SD)")]["a"] == "35.0 (7.1), n = 2"
    assert by[("gender", "woman")] == {"a": "1 (50%)", "b": "1 (100%)", "all": "2 (67%)"}


def test_flow_counts_withdrawals_before_each_wave_by_scope(tmp_path):
    study = Study.model_validate(
        {
            **design(
                waves=[
                    {"id": "T1", "label": "start", "offset_months": 0},
                    {"id": "T2", "label": "4 months", "offset_months": 4},
                ]
            ),
            "root": tmp_path,
        }
    )
    start = dt.date(2024, 1, 1)
    flow = participant_flow(
        study,
        enrolled=dict.fromkeys(["P1", "P2", "P3", "P4"], start),
        analysed=["P1", "P2", "P3"],
        seen={"T1": {"P1", "P2", "P3", "P4"}, "T2": {"P1"}},
        transcripts={"T1": {"interview": 2}},
        employed={"T1": 3},
        withdrawals=[
            Withdrawn("P2", dt.date(2024, 3, 1), "no further data"),
            Withdrawn("P4", dt.date(2024, 2, 1), "remove all data"),
        ],
    )
    assert (flow.enrolled, flow.removed, flow.analysed) == (4, 1, 3)
    first, second = flow.waves
    assert (first.questionnaires, first.interviews, first.employed, first.not_seen) == (3, 2, 3, 0)
    assert first.withdrawn_before == {"no further data": 0, "remove all data": 0}
    assert second.withdrawn_before == {"no further data": 1, "remove all data": 1}
    assert (second.questionnaires, second.not_seen) == (1, 1)  # P3 neither seen nor withdrawn


def test_propositions_parse_with_lines_and_refuse_an_unknown_fit(tmp_path):
    path = tmp_path / "propositions.yml"
    path.write_text(
        "- id: PR1\n  statement: One.\n  fit: confirmation\n"
        "- id: PR2\n  statement: Two.\n  fit: agreement\n"
        "- id: PR1\n  statement: Again.\n",
        encoding="utf-8",
    )
    propositions, problems = parse_propositions(path)
    assert [p.id for p in propositions] == ["PR1"]
    assert [(p.line, p.key) for p in problems] == [(4, "fit"), (7, "id")]
    assert "used twice" in problems[1].message


def test_checklist_items_answered_or_not_applicable(tmp_path):
    path = tmp_path / "checklists.yml"
    path.write_text(
        "- {id: GRAMMS-1, text: Justify, answered_in: 'index.qmd'}\n"
        "- {id: GRAMMS-2, text: Design, not_applicable: 'single method'}\n"
        "- {id: GRAMMS-3, text: Methods}\n",
        encoding="utf-8",
    )
    items, problems = parse_checklists(path)
    assert problems == []
    assert [i.answered for i in items] == [True, True, False]
    assert items[1].answer == "Not applicable: single method"
