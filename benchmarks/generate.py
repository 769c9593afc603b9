"""Generate a synthetic study with a large measure table and known, injected defects.

``python benchmarks/generate.py DIR --rows 1000000`` writes a complete study into DIR:
study.yml (four waves), a study-defined 14-item instrument (``bench``, items 1-5, a stored
``total``), participants (rows / 4), consent for all of them, an ethics approval, the
measure table, and datapackage.json from ``studykit.package``. Every participant id and
value is invented. ``expected.json`` lists each injected defect as (code, row, column);
the bench checks that validation reports every one of them.

The defects mirror the domain measurements (shared/domain/validation-stack.md section 3),
plus unparseable cells so that type errors sit next to range errors in the same columns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import yaml

WAVES = [("T1", "baseline", 0), ("T2", "4 months", 4), ("T3", "8 months", 8), ("T4", "12 months", 12)]
ITEMS = [f"item_{i:02d}" for i in range(1, 15)]
DEFECTS = {  # name: (how many, code expected, column)
    "out_of_range": (50, "STR009", None),
    "unparseable": (20, "STR007", None),
    "unknown_wave": (20, "MEA001", "wave"),
    "duplicate_key": (10, "STR012", "participant_id, wave"),
    "invalid_date": (10, "STR007", "completed_on"),
    "malformed_id": (10, "STR011", "participant_id"),
    "unknown_participant": (10, "STR014", "participant_id"),
    "outside_window": (10, "MEA002", "completed_on"),
    "wrong_total": (10, "MEA003", "total"),
}
INSTRUMENT = {
    "id": "bench",
    "name": "Synthetic benchmark scale",
    "version": "1",
    "construct": "nothing real: invented for the benchmark",
    "citation": "Invented for studykit's benchmark.",
    "licence": {"item_text_allowed": True, "note": "Invented; no real instrument."},
    "response": {"min": 1, "max": 5},
    "items": [{"id": item} for item in ITEMS],
    "scores": [
        {"id": "total", "name": "Total", "items": ITEMS, "method": "sum", "range": [14, 70], "decimals": 0}
    ],
}


def _study_yml() -> dict:
    return {
        "title": "Synthetic benchmark study",
        "slug": "bench-study",
        "synthetic": True,
        "description": "Invented data for studykit's validation benchmark. No real people.",
        "principal_investigator": "Dr Synthetic Example",
        "institution": "Example Institute",
        "contact_email": "bench@example.org",
        "licences": {"data": "CC-BY-4.0", "code": "MIT"},
        "waves": [
            {"id": w, "label": label, "offset_months": months, "window_days": {"before": 14, "after": 60}}
            for w, label, months in WAVES
        ],
        "instruments": ["bench"],
        "archive": {"target": "UK Data Service"},
    }


def _participants(n: int, rng: np.random.Generator) -> pl.DataFrame:
    start = dt.date(2023, 1, 1)
    return pl.DataFrame(
        {
            "participant_id": [f"P{i:06d}" for i in range(1, n + 1)],
            "group": rng.choice(["peer worker", "non-peer professional", "manager", "other"], n),
            "role": [None] * n,
            "site": rng.choice([f"S{i:02d}" for i in range(10)], n),
            "enrolled_on": rng.integers(0, 365, n),
            "gender": [None] * n,
            "age": rng.integers(18, 66, n),
        },
        schema_overrides={"role": pl.String, "gender": pl.String},
    ).with_columns(enrolled_on=pl.lit(start) + pl.duration(days=pl.col("enrolled_on")))


def _measures(people: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = people.height * len(WAVES)
    frame = people.select("participant_id", "enrolled_on").join(
        pl.DataFrame({"wave": [w for w, _, _ in WAVES], "months": [m for _, _, m in WAVES]}), how="cross"
    )
    items = {item: rng.integers(1, 6, n) for item in ITEMS}
    frame = frame.with_columns(
        completed_on=pl.col("enrolled_on").dt.offset_by(pl.format("{}mo", pl.col("months")))
        + pl.duration(days=pl.Series(rng.integers(-10, 50, n))),
        **{item: pl.Series(values) for item, values in items.items()},
    )
    return (
        frame.with_columns(total=pl.sum_horizontal(ITEMS))
        .select("participant_id", "wave", "completed_on", *ITEMS, "total")
        .cast(pl.String)
    )


def _inject(frame: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, list[list]]:
    """Put each defect in its own rows; returns the frame and [code, row, column] of every defect."""
    total = sum(count for count, _, _ in DEFECTS.values())
    rows = rng.choice(np.arange(100, frame.height), size=total * 2, replace=False)
    chosen = {int(r) for r in rows[:total]}
    columns = {c: frame.get_column(c).to_list() for c in frame.columns}
    expected: list[list] = []
    cursor = 0
    for name, (count, code, column) in DEFECTS.items():
        for _ in range(count):
            i = int(rows[cursor])
            cursor += 1
            target = column
            if name in ("out_of_range", "unparseable"):
                target = ITEMS[int(rng.integers(0, len(ITEMS)))]
                columns[target][i] = ("0", "6")[int(rng.integers(0, 2))] if name == "out_of_range" else "x"
                # keep the stored total consistent so the defect is reported once
                columns["total"][i] = None
            elif name == "unknown_wave":
                columns["wave"][i] = "T9"
            elif name == "duplicate_key":
                source = i - int(rng.integers(1, 90))  # an earlier row: the later one is the duplicate
                while source in chosen:
                    source -= 1
                for c in ("participant_id", "wave", "completed_on"):
                    columns[c][i] = columns[c][source]
            elif name == "invalid_date":
                columns["completed_on"][i] = "2023-02-30"
            elif name == "malformed_id":
                columns["participant_id"][i] = f"P{i:06d}x"
            elif name == "unknown_participant":
                columns["participant_id"][i] = f"Z{i:06d}"
            elif name == "outside_window":
                day = dt.date.fromisoformat(columns["completed_on"][i]) + dt.timedelta(days=400)
                columns["completed_on"][i] = day.isoformat()
            elif name == "wrong_total":
                columns["total"][i] = str(int(columns["total"][i]) + 3)
            expected.append([code, i + 2, target])
    return pl.DataFrame(columns), expected


def generate(root: Path, *, rows: int = 1_000_000, seed: int = 42) -> list[list]:
    """Write the study into ``root``; returns the expected defects."""
    from studykit.package import write_descriptor
    from studykit.study import load_study

    rng = np.random.default_rng(seed)
    (root / "instruments").mkdir(parents=True, exist_ok=True)
    (root / "data" / "measures").mkdir(parents=True, exist_ok=True)
    (root / "governance").mkdir(parents=True, exist_ok=True)
    (root / "study.yml").write_text(yaml.safe_dump(_study_yml(), sort_keys=False), encoding="utf-8")
    (root / "instruments" / "bench.yml").write_text(
        yaml.safe_dump(INSTRUMENT, sort_keys=False), encoding="utf-8"
    )
    people = _participants(max(rows // len(WAVES), 1), rng)
    people.write_csv(root / "data" / "participants.csv", date_format="%Y-%m-%d")
    measures, expected = _inject(_measures(people, rng), rng)
    measures.write_csv(root / "data" / "measures" / "bench.csv")
    (root / "data" / "employment.csv").write_text(
        "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week\n",
        encoding="utf-8",
    )
    consent = people.select(
        "participant_id",
        pl.lit("1.0").alias("form_version"),
        (pl.col("enrolled_on") - pl.duration(days=20)).alias("consented_on"),
        *(
            pl.lit("yes").alias(scope)
            for scope in ("participate", "audio_recording", "direct_quotation", "archiving", "future_contact")
        ),
    )
    consent.write_csv(root / "governance" / "consent.csv", date_format="%Y-%m-%d")
    (root / "governance" / "withdrawals.csv").write_text(
        "participant_id,withdrawn_on,reason,scope\n", encoding="utf-8"
    )
    ethics = {
        "approvals": [
            {
                "committee": "Synthetic Research Ethics Committee",
                "reference": "SYN/BENCH",
                "approved_on": "2022-12-01",
                "expires_on": "2030-12-31",
                "consent_forms": ["1.0"],
                "documents": ["Consent form v1.0"],
            }
        ]
    }
    (root / "governance" / "ethics.yml").write_text(yaml.safe_dump(ethics, sort_keys=False), encoding="utf-8")
    write_descriptor(load_study(root))
    (root / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    expected = generate(args.root, rows=args.rows, seed=args.seed)
    sys.stdout.write(f"Wrote {args.root}: {args.rows:,} measure rows, {len(expected)} injected defects\n")


if __name__ == "__main__":
    main()
