"""A small synthetic study with a qualitative strand, for the qualitative tests.

Names and numbers here are invented; none refers to a real person.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from studykit.study import Study, load_study

from tests.package.designs import design

DESIGN = design(
    title="Synthetic peer work study",
    slug="synthetic-peer",
    strands={"qualitative": ["interviews", "focus groups"]},
)

PARTICIPANTS = (
    "participant_id,group,role,site,enrolled_on,gender,age\n"
    "P001,peer worker,peer support worker,S1,2024-01-08,woman,34\n"
    "P002,peer worker,peer support worker,S1,2024-01-08,man,41\n"
    "P003,manager,team lead,S2,2024-01-15,woman,52\n"
)

INTERVIEW_BODY = (
    "**INT:** How did the first month go?\n"
    "\n"
    "**P001:** It was busier than I expected, but the team made space for me.\n"
    "\n"
    "**INT:** What helped most?\n"
    "\n"
    "**P001:** Supervision every week. Having someone who had been there too.\n"
)

FOCUS_GROUP_BODY = (
    "**FAC:** What does peer support add to the team?\n"
    "\n"
    "**P002:** Hope, mostly. People see that recovery is possible.\n"
    "\n"
    "**P003:** As a manager I notice the team talks differently about risk.\n"
)


def front_matter(transcript_id: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": transcript_id,
        "kind": "interview",
        "wave": "T1",
        "date": "2024-02-05",
        "interviewer": "R1",
        "participants": ["P001"],
        "duration_minutes": 42,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def transcript_text(meta: dict[str, object], body: str) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body


def make_qual_study(
    root: Path,
    *,
    design: dict | None = None,
    transcripts: dict[str, str] | None = None,
    codebook: str | None = None,
    segments: str | None = None,
    themes: str | None = None,
    participants: str | None = PARTICIPANTS,
    extra_files: dict[str, str] | None = None,
) -> Study:
    """Write a study into ``root/study``; ``transcripts`` maps file stem to full file text."""
    study_dir = root / "study"
    folder = study_dir / "data" / "qualitative" / "transcripts"
    folder.mkdir(parents=True)
    (study_dir / "study.yml").write_text(yaml.safe_dump({**DESIGN, **(design or {})}), encoding="utf-8")
    if participants is not None:
        (study_dir / "data" / "participants.csv").write_text(participants, encoding="utf-8")
    if transcripts is None:
        transcripts = {
            "INT-P001-T1": transcript_text(front_matter("INT-P001-T1"), INTERVIEW_BODY),
            "FG-01-T2": transcript_text(
                front_matter("FG-01-T2", kind="focus group", wave="T2", participants=["P002", "P003"]),
                FOCUS_GROUP_BODY,
            ),
        }
    for stem, text in transcripts.items():
        (folder / f"{stem}.md").write_text(text, encoding="utf-8", newline="")
    qualitative = study_dir / "data" / "qualitative"
    for name, text in (("codebook.csv", codebook), ("segments.csv", segments), ("themes.yml", themes)):
        if text is not None:
            (qualitative / name).write_text(text, encoding="utf-8")
    for relative, text in (extra_files or {}).items():
        target = study_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return load_study(study_dir)


def span(body: str, text: str) -> tuple[int, int]:
    """Start and end (exclusive) code points of ``text`` in ``body``."""
    start = body.index(text)
    return start, start + len(text)


CODEBOOK = (
    "code_id,name,parent,definition\n"
    "C1,Support,,Sources of support at work\n"
    "C1.1,Supervision,C1,Regular supervision\n"
    "C2,Hope,,Hope and recovery\n"
)


def segments_csv(rows: list[tuple]) -> str:
    lines = ["segment_id,transcript,start,end,code,coder,memo"]
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def default_segments() -> str:
    s1 = span(INTERVIEW_BODY, "Supervision every week.")
    s2 = span(FOCUS_GROUP_BODY, "Hope, mostly. People see that recovery is possible.")
    return segments_csv(
        [("S1", "INT-P001-T1", *s1, "C1.1", "R1", ""), ("S2", "FG-01-T2", *s2, "C2", "R2", "strong")]
    )


THEMES = """\
- id: support
  name: Being supported
  description: How supervision and the team hold new peer workers.
  codes: [C1]
  constructs: [wemwbs.total]
- id: hope
  name: Hope
  codes: [C2]
"""
