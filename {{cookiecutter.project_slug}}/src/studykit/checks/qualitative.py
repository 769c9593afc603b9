"""Qualitative files: transcripts, codebook, segments and themes (codes QUAL###).

This layer is the one owner of the coding files: every codebook and segment rule
(columns, blank ids, duplicates, unknown codes and parents, offsets) lives in
``qual/coding.py`` or here, and the structure layer leaves these two files alone,
so one fault gives one finding.

Checks that every transcript reads (front matter complete and typed), that its id is
its file name, its wave is a wave of study.yml and the participants present are in
participants.csv; that the codebook is a proper hierarchy; that every coded segment
lies inside its transcript and uses a known code; and that themes refer to known
codes and to scores the study's instruments actually produce.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.errors import DataReadError, QualitativeDataError, StudykitError
from studykit.files import link_outside, study_relative
from studykit.qual.coding import Problem, parse_codebook, parse_segments, parse_themes
from studykit.qual.transcripts import Transcript, error_line, read_transcript, transcript_paths
from studykit.study import Study

_FORMATS = "See docs/qualitative.md for the transcript and coding formats."

TRANSCRIPT_UNREADABLE = Rule(
    "QUAL001", "structure", "Transcript cannot be read", "error",
    "A transcript lacks its YAML front matter, the front matter is not valid YAML, or a required key "
    "(id, kind, wave, date) is missing or of the wrong type.",
    "Fix the front matter at the line shown. " + _FORMATS,
)
ID_NOT_STEM = Rule(
    "QUAL002", "structure", "Transcript id differs from its file name", "error",
    "Segments and exchange files refer to transcripts by id, and studykit finds a transcript by its "
    "file name, so the two must agree.",
    "Rename the file to <id>.md, or correct the id in the front matter.",
)
UNKNOWN_WAVE = Rule(
    "QUAL003", "structure", "Transcript wave unknown", "error",
    "The transcript's wave is not a wave id of study.yml.",
    "Use one of the wave ids in study.yml.",
)
UNKNOWN_PARTICIPANT = Rule(
    "QUAL004", "structure", "Participant present not in participants.csv", "warning",
    "A participant listed as present is not in data/participants.csv, so consent cannot be checked for them.",
    "Add the participant to participants.csv, or correct the id in the front matter.",
)
SPEAKER_NOT_PRESENT = Rule(
    "QUAL005", "structure", "Speaker not listed as present", "warning",
    "A turn's speaker label has the form of a participant id but is not in the transcript's "
    "participants list: their quotations cannot be attributed for consent checks.",
    "Add the id to 'participants' in the front matter, or correct the speaker label.",
)
KIND_NOT_IN_STRAND = Rule(
    "QUAL006", "structure", "Transcript kind not among the study's strands", "warning",
    "study.yml's strands.qualitative does not list this kind of data collection.",
    "Add the strand to study.yml (interviews, focus groups, event notes), or correct the kind.",
)
CODEBOOK_FORMAT = Rule(
    "QUAL010", "structure", "Codebook malformed", "error",
    "codebook.csv cannot be read as CSV, is not UTF-8, lacks required columns or has a column that is "
    "not a codebook column, or a code has no id or no name.",
    "Fix the row shown. " + _FORMATS,
)
DUPLICATE_CODE = Rule(
    "QUAL011", "structure", "Duplicate code id", "error",
    "Two codes in codebook.csv have the same code_id.",
    "Give each code its own id, or merge the two rows.",
)
UNKNOWN_PARENT = Rule(
    "QUAL012", "structure", "Parent code not in the codebook", "error",
    "A code's parent is not a code_id of the codebook.",
    "Add the parent code, correct the id, or leave parent blank for a top-level code.",
)
CODE_CYCLE = Rule(
    "QUAL013", "structure", "Codes form a cycle", "error",
    "Following parents from a code leads back to the same code, so the hierarchy is not a tree.",
    "Make one of the codes on the cycle top-level (blank parent).",
)
SEGMENT_FORMAT = Rule(
    "QUAL020", "structure", "Segment malformed", "error",
    "segments.csv cannot be read as CSV, is not UTF-8, lacks required columns or has a column that is "
    "not a segments column, or a segment has a blank field or offsets that are not whole numbers with "
    "start < end.",
    "Fix the row shown; offsets count Unicode code points of the transcript body, end exclusive.",
)
DUPLICATE_SEGMENT = Rule(
    "QUAL021", "structure", "Duplicate segment id", "error",
    "Two segments have the same segment_id.",
    "Give every segment its own id.",
)
UNKNOWN_TRANSCRIPT = Rule(
    "QUAL022", "structure", "Segment refers to an unknown transcript", "error",
    "A segment's transcript is not the id of any transcript in data/qualitative/transcripts/.",
    "Correct the transcript id, or add the transcript.",
)
SEGMENT_OUTSIDE = Rule(
    "QUAL023", "structure", "Segment outside its transcript", "error",
    "A segment ends after the end of its transcript's body, so it cannot point at the coded text "
    "(often the transcript was edited after coding).",
    "Recode the segment, or restore the transcript the coding was done on.",
)
UNKNOWN_CODE = Rule(
    "QUAL024", "structure", "Segment uses an unknown code", "error",
    "A segment's code is not a code_id of codebook.csv.",
    "Add the code to the codebook, or correct the code id.",
)
THEMES_FORMAT = Rule(
    "QUAL030", "structure", "Themes file malformed", "error",
    "themes.yml is not valid YAML, is not a list of themes, or a theme lacks id or name, has an unknown "
    "key, or repeats another theme's id.",
    "Fix the theme shown. " + _FORMATS,
)
THEME_UNKNOWN_CODE = Rule(
    "QUAL031", "structure", "Theme refers to an unknown code", "error",
    "A theme lists a code that is not in codebook.csv.",
    "Add the code to the codebook, or correct the code id in themes.yml.",
)
THEME_UNKNOWN_CONSTRUCT = Rule(
    "QUAL032", "structure", "Theme refers to an unknown construct", "error",
    "A theme's constructs must be scores of the study's instruments, written <instrument>.<score> "
    "(e.g. wemwbs.total), or employment.<column>.",
    "Use an instrument score id from the instrument definition, or add the instrument to study.yml.",
)
CODING_MISSING = Rule(
    "QUAL040", "structure", "Coding file missing", "info",
    "The study has a qualitative strand (so datapackage.json lists the coding files) or transcripts, but "
    "no codebook.csv or segments.csv yet.",
    "Create the file with its header row (see docs/qualitative.md), or import coding with studykit qual "
    "import when coding starts.",
)

register(
    TRANSCRIPT_UNREADABLE, ID_NOT_STEM, UNKNOWN_WAVE, UNKNOWN_PARTICIPANT, SPEAKER_NOT_PRESENT,
    KIND_NOT_IN_STRAND, CODEBOOK_FORMAT, DUPLICATE_CODE, UNKNOWN_PARENT, CODE_CYCLE, SEGMENT_FORMAT,
    DUPLICATE_SEGMENT, UNKNOWN_TRANSCRIPT, SEGMENT_OUTSIDE, UNKNOWN_CODE, THEMES_FORMAT,
    THEME_UNKNOWN_CODE, THEME_UNKNOWN_CONSTRUCT, CODING_MISSING,
)  # fmt: skip

_BY_REASON = {
    "duplicate_code": DUPLICATE_CODE,
    "unknown_parent": UNKNOWN_PARENT,
    "cycle": CODE_CYCLE,
    "duplicate_segment": DUPLICATE_SEGMENT,
    "duplicate_theme": THEMES_FORMAT,
}
EMPLOYMENT_CONSTRUCTS = ("employed_as_peer_worker", "role", "contract", "hours_per_week")
STRAND_OF_KIND = {"interview": "interviews", "focus group": "focus groups", "event notes": "event notes"}


def label(study: Study, path: Path) -> str:
    """A file's name relative to the study folder, as findings show it."""
    return study_relative(study, path)


def participant_ids(run: Run) -> set[str] | None:
    """Ids in participants.csv, or None when it cannot be read (the structure layer reports why)."""
    try:
        table = run.read_table(run.study.participants_path)
    except DataReadError:
        return None
    if "participant_id" not in table.header:
        return None
    return {v.strip() for v in table.frame["participant_id"].drop_nulls().to_list()}


def known_constructs(study: Study) -> set[str] | None:
    """``instrument.score`` for each instrument of the study, plus employment columns; None if unreadable."""
    from studykit.instruments import load_instruments

    try:
        instruments = load_instruments(study)
    except StudykitError:
        return None
    constructs = {f"{i.id}.{s.id}" for i in instruments for s in i.scores}
    constructs.update(f"employment.{c}" for c in EMPLOYMENT_CONSTRUCTS)
    return constructs


def _problem_findings(study: Study, problems: list[Problem], default: Rule) -> Iterator[Finding]:
    for problem in problems:
        rule = _BY_REASON.get(problem.reason, default)
        yield rule.finding(
            problem.message,
            file=label(study, problem.file),
            row=problem.row,
            column=problem.column,
            value=problem.value,
            fix=problem.fix if rule is default else None,
        )


def _transcript_findings(study: Study, transcript: Transcript, people: set[str] | None) -> Iterator[Finding]:
    file = label(study, transcript.path)
    if transcript.id != transcript.path.stem:
        yield ID_NOT_STEM.finding(
            f"id {transcript.id!r} differs from the file name {transcript.path.name!r}",
            file=file, row=transcript.key_lines.get("id"), column="id", value=transcript.id,
        )  # fmt: skip
    if study.wave(transcript.wave) is None:
        yield UNKNOWN_WAVE.finding(
            f"wave {transcript.wave!r} is not a wave of study.yml ({', '.join(study.wave_ids)})",
            file=file, row=transcript.key_lines.get("wave"), column="wave", value=transcript.wave,
        )  # fmt: skip
    strand = STRAND_OF_KIND[transcript.kind]
    if study.strands.qualitative and strand not in study.strands.qualitative:
        yield KIND_NOT_IN_STRAND.finding(
            f"kind {transcript.kind!r}, but study.yml lists the strands "
            f"{', '.join(study.strands.qualitative)}",
            file=file, row=transcript.key_lines.get("kind"), column="kind", value=transcript.kind,
        )  # fmt: skip
    if people is not None:
        for pid in transcript.participants:
            if pid not in people:
                yield UNKNOWN_PARTICIPANT.finding(
                    f"participant {pid!r} is listed as present but is not in participants.csv",
                    file=file, row=transcript.key_lines.get(f"participants/{pid}"), column="participants",
                    value=pid,
                )  # fmt: skip
    reported: set[str] = set()
    for turn in transcript.turns:
        listed = turn.speaker in transcript.participants or turn.speaker in reported
        if turn.is_participant and not listed:
            reported.add(turn.speaker)
            yield SPEAKER_NOT_PRESENT.finding(
                f"speaker {turn.speaker!r} speaks but is not in the front matter's participants",
                file=file, row=transcript.line_of(turn.start), value=turn.speaker,
            )  # fmt: skip


def _linked_outside(study: Study) -> list[Path]:
    folder = study.transcripts_dir
    if not folder.is_dir():
        return []
    return [p for p in folder.glob("*.md") if link_outside(study.root, p) is not None]


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for the qualitative files of a study."""
    study = run.study
    transcripts: dict[str, Transcript] = {}
    paths = transcript_paths(study)
    people = participant_ids(run) if paths else None  # only transcripts name participants
    # A transcript linked from outside the study is not read (INT006 names it); its segments are
    # not "unknown", so they are not reported again, once per segment.
    unreadable = {p.stem for p in _linked_outside(study)}
    for path in paths:
        try:
            transcript = read_transcript(path, root=study.root)
        except QualitativeDataError as exc:
            unreadable.add(path.stem)
            yield TRANSCRIPT_UNREADABLE.finding(exc.message, file=label(study, path), row=error_line(exc))
            continue
        transcripts[transcript.id] = transcript
        yield from _transcript_findings(study, transcript, people)

    codebook, problems = parse_codebook(study.codebook_path)
    yield from _problem_findings(study, problems, CODEBOOK_FORMAT)
    # A codebook that could not be read at all (no code, and a problem that says why) is one finding;
    # every coded segment and theme would otherwise be reported as using an unknown code.
    codebook_readable = study.codebook_path.is_file() and (bool(codebook) or not problems)
    segments, problems = parse_segments(study.segments_path)
    yield from _problem_findings(study, problems, SEGMENT_FORMAT)
    themes, problems = parse_themes(study.themes_path)
    yield from _problem_findings(study, problems, THEMES_FORMAT)
    if paths or study.strands.qualitative:
        for missing in (study.codebook_path, study.segments_path):
            if not missing.is_file():
                yield CODING_MISSING.finding(f"{missing.name} does not exist yet", file=label(study, missing))

    segments_file = label(study, study.segments_path)
    for segment in segments:
        transcript = transcripts.get(segment.transcript)
        if transcript is None and segment.transcript not in unreadable:
            yield UNKNOWN_TRANSCRIPT.finding(
                f"transcript {segment.transcript!r} is not in {label(study, study.transcripts_dir)}/",
                file=segments_file, row=segment.row, column="transcript", value=segment.transcript,
            )  # fmt: skip
        elif transcript is not None and segment.end > len(transcript):
            yield SEGMENT_OUTSIDE.finding(
                f"segment {segment.segment_id!r} ends at {segment.end}, after the end of transcript "
                f"{transcript.id!r} ({len(transcript)} code points)",
                file=segments_file, row=segment.row, column="end", value=segment.end,
            )  # fmt: skip
        if codebook_readable and segment.code not in codebook:
            yield UNKNOWN_CODE.finding(
                f"code {segment.code!r} is not in the codebook",
                file=segments_file, row=segment.row, column="code", value=segment.code,
            )  # fmt: skip

    if themes:
        themes_file = label(study, study.themes_path)
        lines = _theme_lines(study.themes_path)
        constructs = known_constructs(study)
        for theme in themes:
            row = lines.get(theme.id)
            for code in theme.codes:
                if codebook_readable and code not in codebook:
                    yield THEME_UNKNOWN_CODE.finding(
                        f"theme {theme.id!r} lists code {code!r}, which is not in the codebook",
                        file=themes_file, row=row, column="codes", value=code,
                    )  # fmt: skip
            for construct in theme.constructs if constructs is not None else ():
                if construct not in constructs:
                    yield THEME_UNKNOWN_CONSTRUCT.finding(
                        f"theme {theme.id!r} links construct {construct!r}, "
                        "which no instrument of the study scores",
                        file=themes_file, row=row, column="constructs", value=construct,
                    )  # fmt: skip


def _theme_lines(path: Path) -> dict[str, int]:
    """The YAML line of each theme's ``id`` (themes.yml has rows only in this sense)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip().removeprefix("- ").strip()
        if text.startswith("id:"):
            lines.setdefault(text[3:].strip().strip("'\""), number)
    return lines
