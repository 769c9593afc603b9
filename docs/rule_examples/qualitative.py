"""Breaks for the qualitative layer's rules (QUAL)."""

from __future__ import annotations

from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import append, replace, set_cell, text, write

QUAL = "data/qualitative"
TRANSCRIPTS = f"{QUAL}/transcripts"
CODEBOOK = f"{QUAL}/codebook.csv"
SEGMENTS = f"{QUAL}/segments.csv"
THEMES = f"{QUAL}/themes.yml"


@breaks("QUAL001")
def date_typed_day_first(study: Path) -> None:
    """INT-P005-T1.md's interview date typed day first (03/02/2024) in its front matter."""
    replace(study, f"{TRANSCRIPTS}/INT-P005-T1.md", "date: 2024-02-03", "date: 03/02/2024")


@breaks("QUAL002")
def id_copied_from_previous(study: Path) -> None:
    """INT-P005-T2.md made from a copy of INT-P005-T1.md, and its front matter id left as INT-P005-T1."""
    replace(study, f"{TRANSCRIPTS}/INT-P005-T2.md", "id: INT-P005-T2", "id: INT-P005-T1")


@breaks("QUAL003")
def wave_label_for_id(study: Path) -> None:
    """INT-P005-T2.md's wave written as its label ("4 months") instead of its id (T2)."""
    replace(study, f"{TRANSCRIPTS}/INT-P005-T2.md", "wave: T2", "wave: 4 months")


@breaks("QUAL004")
def present_not_enrolled(study: Path) -> None:
    """FG011 listed as present in FG-A.md but never added to data/participants.csv."""
    replace(study, f"{TRANSCRIPTS}/FG-A.md", "FG005]", "FG005, FG011]")


@breaks("QUAL005")
def speaker_left_out(study: Path) -> None:
    """FG005, who speaks in the focus group, left out of the participants list of FG-A.md."""
    replace(study, f"{TRANSCRIPTS}/FG-A.md", ", FG005]", "]")


@breaks("QUAL006")
def strand_not_listed(study: Path) -> None:
    """study.yml's qualitative strands leave out event notes, though EVENT-1.md holds event notes."""
    replace(study, "study.yml", '"focus groups", "event notes"]', '"focus groups"]')


@breaks("QUAL010")
def codebook_column_renamed(study: Path) -> None:
    """codebook.csv's definition column headed "description", as another coding tool exported it."""
    replace(study, CODEBOOK, "code_id,name,parent,definition", "code_id,name,parent,description")


@breaks("QUAL011")
def code_added_twice(study: Path) -> None:
    """A second self_care code added at the end of codebook.csv by another coder."""
    append(study, CODEBOOK, "self_care,Self-care,demands,Things peer workers do to stay well.")


@breaks("QUAL012")
def parent_misspelt(study: Path) -> None:
    """The parent of the code supervision misspelt "suport" in codebook.csv."""
    set_cell(study, CODEBOOK, 11, "parent", "suport")


@breaks("QUAL013")
def parent_and_child_swapped(study: Path) -> None:
    """The top-level code valued given its own child, connection, as parent in codebook.csv."""
    set_cell(study, CODEBOOK, 2, "parent", "connection")


@breaks("QUAL020")
def offsets_swapped(study: Path) -> None:
    """Segment S0004's start and end swapped in segments.csv."""
    replace(study, SEGMENTS, "S0004,INT-P005-T1,791,865,", "S0004,INT-P005-T1,865,791,")


@breaks("QUAL021")
def segment_id_repeated(study: Path) -> None:
    """Segment S0002 numbered S0001 again in segments.csv."""
    set_cell(study, SEGMENTS, 3, "segment_id", "S0001")


@breaks("QUAL022")
def transcript_id_misspelt(study: Path) -> None:
    """The transcript of segment S0001 typed INT-P05-T1 (for INT-P005-T1) in segments.csv."""
    set_cell(study, SEGMENTS, 2, "transcript", "INT-P05-T1")


@breaks("QUAL023")
def transcript_cut_after_coding(study: Path) -> None:
    """The last four turns of INT-P005-T1.md deleted after the transcript was coded."""
    path = f"{TRANSCRIPTS}/INT-P005-T1.md"
    content = text(study, path)
    write(study, path, content[: content.index("\n\n**P005:** I would like to help train")] + "\n")


@breaks("QUAL024")
def code_misspelt(study: Path) -> None:
    """The code of segment S0004 typed role_ambiguty in segments.csv."""
    set_cell(study, SEGMENTS, 5, "code", "role_ambiguty")


@breaks("QUAL030")
def theme_key_misspelt(study: Path) -> None:
    """The first theme's constructs key typed "construct" in themes.yml."""
    replace(study, THEMES, "  constructs:", "  construct:")


@breaks("QUAL031")
def theme_code_misspelt(study: Path) -> None:
    """The code self_care listed as selfcare in the theme adjusting_demands of themes.yml."""
    replace(study, THEMES, "  - self_care\n", "  - selfcare\n")


@breaks("QUAL032")
def construct_without_score(study: Path) -> None:
    """The theme valued_connected links the instrument wemwbs without its score (.total) in themes.yml."""
    replace(study, THEMES, "  - wemwbs.total\n", "  - wemwbs\n")


@breaks("QUAL040")
def segments_not_exported(study: Path) -> None:
    """data/qualitative/segments.csv deleted: only the codebook is drafted, no segment coded yet."""
    (study / SEGMENTS).unlink()
