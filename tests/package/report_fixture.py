"""A small ``reports/_results`` folder as ``studykit results`` writes it (the contract of issue 18).

The render half of the report is tested on this fixture, so it does not depend on the
statistics: every table is a pipe table with its caption line, every figure an SVG, a PNG
and the figure line, ``_variables.yml`` and ``results.json`` hold the numbers prose cites.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import yaml

TABLES: dict[str, tuple[str, list[str], list[list[str]]]] = {
    "flow": ("Participant flow per wave", ["Wave", "Eligible", "Took part", "Withdrew (no further data)",
                                           "Withdrew (remove all data)"],
             [["T1", "24", "24", "0", "0"], ["T2", "24", "21", "1", "1"], ["T3", "22", "19", "1", "0"]]),
    "sample": ("Sample characteristics by group", ["Characteristic", "IPS (n = 12)", "Usual care (n = 11)"],
               [["Age, mean (SD)", "34.2 (9.1)", "36.0 (8.4)"], ["Women, n (%)", "5 (42%)", "6 (55%)"]]),
    "scores": ("Scores per wave against the instruments' norms",
               ["Instrument", "Wave", "n", "Mean", "SD", "Range", "Norm (source)", "t", "p", "d"],
               [["WEMWBS", "T1", "23", "41.3", "8.2", "25-60", "51.6 (Tennant 2007)", "-6.02", "<0.001",
                 "-1.26"],
                ["WEMWBS", "T2", "20", "44.0", "7.9", "29-62", "51.6 (Tennant 2007)", "-4.30", "<0.001",
                 "-0.96"]]),
    "change": ("Paired change between waves (Holm-adjusted; exploratory)",
               ["Instrument", "Waves", "n", "Mean difference (95% CI)", "t", "df", "p (adjusted)", "d_z",
                "d_av"],
               [["WEMWBS", "T1 to T2", "20", "2.7 (0.9 to 4.5)", "3.14", "19", "0.011", "0.70", "0.34"]]),
    "employment": ("Employment status per wave", ["Wave", "Employed", "In education", "Not working"],
                   [["T1", "3", "2", "18"], ["T2", "8", "2", "11"], ["T3", "10", "1", "8"]]),
    "codebook": ("Codebook", ["Code", "Description", "Segments"],
                 [["hope", "Talk of a future that seems possible", "14"],
                  ["stigma", "Being treated as less able", "9"]]),
    "themes": ("Themes with exemplar quotations", ["Theme", "Description", "Exemplar quotation"],
               [["Finding a footing", "Work gives the week a shape",
                 "\u201cHaving somewhere to be on Monday changed everything\u201d (P003, T2)"],
                ["Being seen", "Employers looking past the diagnosis",
                 "\u201cShe asked what I could do, not what was wrong\u201d (P007, T3)"]]),
    "code-frequencies": ("Coded segments by wave and group", ["Code", "T1 IPS", "T1 Usual care", "T2 IPS"],
                         [["hope", "4", "2", "8"], ["stigma", "3", "4", "2"]]),
    "focus-groups": ("Focus-group characteristics", ["Group", "Wave", "Participants", "Duration (min)"],
                     [["FG1", "T2", "6", "74"], ["FG2", "T3", "5", "68"]]),
    "joint-display": ("Joint display of the integrated findings",
                      ["Proposition", "Quantitative finding", "Qualitative finding", "Fit", "Meta-inference"],
                      [["Work improves wellbeing", "WEMWBS rose by 2.7 points from T1 to T2",
                        "Finding a footing", "confirmation", "Employment and wellbeing rose together"]]),
    "coreq": ("COREQ checklist (32 items)", ["No.", "Item", "Answered in"],
              [[str(i), f"COREQ item {i}", "qualitative.html"] for i in range(1, 33)]),
    "gramms": ("GRAMMS guideline (6 items)", ["No.", "Item", "Answered in"],
               [[str(i), f"GRAMMS item {i}", "integration.html"] for i in range(1, 7)]),
    "gripp2": ("GRIPP2 short form: reporting of public involvement", ["No.", "Section and topic", "Item",
               "What this study reports", "Reported in"],
               [["1", "Aim", "Report the aim of PPI in the study", "To shape the interviews", "Aim"]]),
    "ukstandards": ("Self-assessment against the UK Standards for Public Involvement",
                    ["Standard", "Self-assessment", "Notes"], [["Impact", "met", "Recorded as it happened"]]),
    "provenance": ("Provenance", ["Package", "Version"],
                   [["studykit", "0.1.0"], ["polars", "2.1.0"], ["matplotlib", "3.11.0"]]),
}

FIGURES = {
    "flow": ("Participant flow through the waves",
             "Flow diagram: 24 enrolled at T1, 21 took part at T2 and 19 at T3."),
    "trajectories": ("Score trajectories per wave",
                     "Line chart: mean WEMWBS 41.3 at T1 and 44.0 at T2."),
    "employment": ("Employment status per wave",
                   "Stacked bars: employed 3 at T1, 8 at T2 and 10 at T3 of about 20."),
}

VARIABLES = {
    "study": {"title": "Work and wellbeing after psychosis", "synthetic": "yes"},
    "n": {"enrolled": 24, "analysed": 23, "withdrawn": 2, "waves": 3, "instruments": 2, "themes": 2,
          "quotes": 2, "propositions": 1},
    "provenance": {"commit": "3f2a9c1", "dirty": "no", "checksum": "sha256:9b1d0c",
                   "generated": "2026-11-29T21:00:00Z", "studykit": "0.1.0"},
}


def _pipe_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _svg(caption: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200" viewBox="0 0 400 200">'
        f'<rect x="10" y="10" width="380" height="180" fill="#0072B2"/><text x="20" y="100">{caption}</text>'
        "</svg>\n"
    )


def write_results_fixture(reports: Path, *, published: bool = True) -> Path:
    """Write ``_results/`` and ``_variables.yml`` into ``reports`` as ``studykit results`` would."""
    results = reports / "_results"
    results.mkdir(parents=True, exist_ok=True)
    for table_id, (caption, header, rows) in TABLES.items():
        (results / f"tbl-{table_id}.md").write_text(
            f"{_pipe_table(header, rows)}\n\n: {caption} {{#tbl-{table_id}}}\n", encoding="utf-8"
        )
        csv = "\n".join(",".join(f'"{cell}"' for cell in row) for row in [header, *rows])
        (results / f"tbl-{table_id}.csv").write_text(csv + "\n", encoding="utf-8")
    if published:
        table = _pipe_table(["Wave", "n (ours)", "Mean (ours)", "n (paper)", "Mean (paper)"],
                            [["T1", "23", "41.3", "23", "41.3"]])
        text = f"{table}\n\n: Our Table 3 beside the published one {{#tbl-published}}\n"
    else:
        text = "This study has no published table to compare with.\n"
    (results / "tbl-published.md").write_text(text, encoding="utf-8")
    (results / "tbl-published.csv").write_text("" if not published else "Wave\nT1\n", encoding="utf-8")
    for figure_id, (caption, alt) in FIGURES.items():
        (results / f"fig-{figure_id}.svg").write_text(_svg(caption), encoding="utf-8")
        (results / f"fig-{figure_id}.png").write_bytes(_png())
        (results / f"fig-{figure_id}.md").write_text(
            f'![{caption}](_results/fig-{figure_id}.svg){{#fig-{figure_id} fig-alt="{alt}"}}\n',
            encoding="utf-8",
        )
    (results / "involvement.md").write_text("## Aim of involvement {#ppi-aim}\n\nTo shape the interviews.\n",
                                            encoding="utf-8")
    (reports / "_variables.yml").write_text(yaml.safe_dump(VARIABLES, sort_keys=False), encoding="utf-8")
    (results / "results.json").write_text(json.dumps({"variables": VARIABLES}, indent=2), encoding="utf-8")
    return results
