"""The ``studykit`` command line: one thin command per job.

Each command parses its options, calls one library function and hands the result
to a renderer. ``_run`` is the single error boundary: exit 0 when clean (or only
warnings), 1 when the data have errors, 2 when the command could not run; one
sentence on stderr, a traceback only with ``--debug``. The product (a report, a
table, JSON) goes to stdout, the conversation to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from studykit import __version__
from studykit.errors import StudykitError
from studykit.study import Study, load_study

out = Console()
err = Console(stderr=True)

app = typer.Typer(
    name="studykit",
    help="Run, check and archive a reproducible mixed-methods study.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

StudyDir = Annotated[
    Path, typer.Option("--study-dir", "-C", help="The study folder (holds study.yml).", show_default=False)
]
Format = Annotated[Literal["text", "json"], typer.Option("--format", help="Output format for the product.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show a traceback when a command fails.")]


def _run(action: Callable[[], int | None], *, debug: bool = False) -> None:
    """Run a command body and map its outcome to an exit code."""
    try:
        code = action() or 0
    except StudykitError as exc:
        if debug:
            err.print_exception()
        err.print(f"[bold red]Could not run:[/] {exc.sentence()}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def _study(study_dir: Path) -> Study:
    return load_study(study_dir)


def _version(value: bool) -> None:
    if value:
        out.print(f"studykit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run, check and archive a reproducible mixed-methods study."""


@app.command()
def info(study_dir: StudyDir = Path(), fmt: Format = "text", debug: Debug = False) -> None:
    """Show the study's design from study.yml: waves, instruments, strands."""
    from studykit._console import study_summary

    def body() -> None:
        study = _study(study_dir)
        if fmt == "json":
            out.print_json(study.model_dump_json())
        else:
            out.print(study_summary(study))

    _run(body, debug=debug)


# --- qual commands (qualitative strand) ---
# One shared sub-app for every `studykit qual ...` command. `import` and `export`
# (REFI-QDA / Taguette exchange) live in the block below; `import-docx` and
# `pseudonymise` are added to this same `qual_app` by their own block.
qual_app = typer.Typer(
    name="qual",
    help="Qualitative strand: transcripts, coding, REFI-QDA and Taguette exchange.",
    no_args_is_help=True,
)
app.add_typer(qual_app, name="qual")
# --- end qual sub-app ---


# --- qual exchange commands (REFI-QDA / Taguette import and export) ---
QualFile = Annotated[
    Path,
    typer.Argument(
        help="A REFI-QDA project (.qdpx) or codebook (.qdc), or a Taguette codebook or highlights CSV.",
        show_default=False,
    ),
]


if TYPE_CHECKING:
    from studykit.qual.refi import ExchangeSummary


def _show_exchange(summary: ExchangeSummary, fmt: str) -> None:
    from studykit.qual._exchange_console import exchange_summary

    if fmt == "json":
        out.print_json(data=summary.to_dict())
    else:
        out.print(exchange_summary(summary))


@qual_app.command("import")
def qual_import(
    file: QualFile,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite existing transcripts, codebook and segments.")
    ] = False,
    coder: Annotated[
        str | None, typer.Option("--coder", help="Coder to record for Taguette highlights (they name none).")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who imports, for the audit log (default: git user.name).")
    ] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Import a REFI-QDA project or codebook, or a Taguette codebook or highlights export."""
    from studykit.qual.refi import import_file

    def body() -> None:
        _show_exchange(import_file(_study(study_dir), file, replace=replace, coder=coder, by=by), fmt)

    _run(body, debug=debug)


@qual_app.command("export")
def qual_export(
    qdpx: Annotated[
        bool, typer.Option("--qdpx", help="Export the project as REFI-QDA (.qdpx): the default.")
    ] = False,
    qdc: Annotated[bool, typer.Option("--qdc", help="Export the codebook only, as REFI-QDA (.qdc).")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: <slug>.qdpx or .qdc in the study)."),
    ] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Export transcripts, codebook and coded segments for NVivo, ATLAS.ti, MAXQDA or QualCoder."""
    from studykit.errors import StudykitError
    from studykit.qual.refi import export_qdc, export_qdpx

    def body() -> None:
        if qdpx and qdc:
            msg = "--qdpx and --qdc cannot be used together"
            raise StudykitError(msg, fix="Choose one.")
        study = _study(study_dir)
        _show_exchange(export_qdc(study, output) if qdc else export_qdpx(study, output), fmt)

    _run(body, debug=debug)


# --- end qual exchange commands ---


# --- qual transcript commands (import-docx, pseudonymise) ---
def _speaker_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        label, sep, speaker = pair.partition("=")
        if not sep or not label.strip() or not speaker.strip():
            msg = f"--speaker {pair!r} is not LABEL=ID"
            raise StudykitError(msg, fix="Write it like --speaker Jo=P001 or --speaker Interviewer=INT.")
        mapping[label.strip().replace("_", " ")] = speaker.strip()
    return mapping


@qual_app.command("import-docx")
def qual_import_docx(
    file: Annotated[Path, typer.Argument(help="A Word transcript (.docx).", show_default=False)],
    kind: Annotated[
        str, typer.Option("--kind", help="interview, 'focus group' or 'event notes'.", show_default=False)
    ],
    wave: Annotated[str, typer.Option("--wave", help="Wave id from study.yml, e.g. T1.", show_default=False)],
    date: Annotated[
        datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Date of collection (YYYY-MM-DD).")
    ],
    transcript_id: Annotated[
        str | None, typer.Option("--id", help="Transcript id (default: the file name without .docx).")
    ] = None,
    interviewer: Annotated[str | None, typer.Option("--interviewer", help="Researcher code (R1).")] = None,
    participant: Annotated[
        list[str] | None,
        typer.Option("--participant", "-p", help="Participant id present (repeat; default: who speaks)."),
    ] = None,
    duration: Annotated[int | None, typer.Option("--duration", help="Duration in minutes.", min=0)] = None,
    speaker: Annotated[
        list[str] | None,
        typer.Option("--speaker", "-s", help="Map a label to a speaker, e.g. Jo=P001 (repeat)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: transcripts folder, <id>.md).")
    ] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Convert a Word (.docx) transcript into a Markdown transcript with front matter and speaker turns."""
    from studykit.qual._transcripts_console import docx_import_dict, docx_import_summary
    from studykit.qual.docx_import import import_docx

    def body() -> None:
        result = import_docx(
            _study(study_dir), file, kind=kind, wave=wave, date=date.date(), transcript_id=transcript_id,
            interviewer=interviewer, participants=participant or [], duration_minutes=duration,
            speakers=_speaker_map(speaker or []), output=output,
        )  # fmt: skip
        for warning in result.warnings:
            err.print(f"[yellow]Warning:[/] {warning}", highlight=False)
        if fmt == "json":
            out.print_json(data=docx_import_dict(result))
        else:
            out.print(docx_import_summary(result))

    _run(body, debug=debug)


@qual_app.command("pseudonymise")
def qual_pseudonymise(
    transcript: Annotated[Path, typer.Argument(help="Transcript (.md) to pseudonymise.", show_default=False)],
    map_file: Annotated[
        Path,
        typer.Option(
            "--map", help="Pseudonym map CSV (original,kind,pseudonym) outside the study; created if absent.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Copy to write (default: transcripts folder, <id>.md).")
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Anonymisation log folder (default: ../<slug>-anonymisation/)."),
    ] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Write a pseudonymised copy of a transcript ([Name1]-style); log each replacement outside the study."""
    from studykit.qual._transcripts_console import pseudonymise_dict, pseudonymise_summary
    from studykit.qual.pseudonymise import pseudonymise_transcript

    def body() -> None:
        result = pseudonymise_transcript(
            _study(study_dir), transcript, map_path=map_file, output=output, log_dir=log_dir
        )
        for warning in result.warnings:
            err.print(f"[yellow]Warning:[/] {warning}", highlight=False)
        if fmt == "json":
            out.print_json(data=pseudonymise_dict(result))
        else:
            out.print(pseudonymise_summary(result))

    _run(body, debug=debug)


# --- end qual transcript commands ---


# --- validate command ---
@app.command()
def validate(
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the JSON report to this file (never inside data/).",
                     show_default=False),
    ] = None,
    accept: Annotated[
        bool, typer.Option("--accept", help="First record the data files' checksums as accepted (integrity).")
    ] = False,
    debug: Debug = False,
) -> None:
    """Check every data file, register and transcript; report every problem at once.

    Exit code 0: clean or warnings only; 1: errors found; 2: something could not be checked.
    """
    from studykit._console import report_table, validation_progress, validation_summary
    from studykit.checks import exit_code
    from studykit.checks import validate as run_validation
    from studykit.checks.integrity import accept as accept_manifest

    def body() -> int:
        study = _study(study_dir)
        target = _report_target(study, output)
        if accept:
            written = accept_manifest(study)
            err.print(f"Recorded the checksums of the data files in {written.as_posix()}.", highlight=False)
        with validation_progress(err) as progress:
            report = run_validation(study, progress=progress, raise_errors=debug)
        if target is not None:
            target.write_text(report.to_json(), encoding="utf-8")
        if fmt == "json":
            typer.echo(report.to_json(), nl=False)
        else:
            out.print(report_table(report))
        code = exit_code(report)
        err.print(validation_summary(report, code, written_to=target), highlight=False)
        return code

    _run(body, debug=debug)


def _report_target(study: Study, output: Path | None) -> Path | None:
    """Where --output goes; refuses data/, which validation never writes to."""
    if output is None:
        return None
    data = (study.root / "data").resolve()
    resolved = output.resolve()
    if resolved == data or data in resolved.parents:
        msg = "is inside data/, which validation never writes to"
        fix = "Choose a path outside data/, for example --output validation-report.json."
        raise StudykitError(msg, path=output, fix=fix)
    if not resolved.parent.is_dir():
        msg = "cannot be written: its folder does not exist"
        raise StudykitError(msg, path=output)
    return output
# --- end validate command ---


# --- consent commands (governance: registers and audit trail) ---
# `studykit consent add|withdraw|status` and `studykit ethics status`. Edits go through
# studykit.governance.edits, which validates, writes atomically and appends to audit.log.
consent_app = typer.Typer(
    name="consent", help="Consent register: record consent and withdrawals (audited), show status.",
    no_args_is_help=True,
)
app.add_typer(consent_app, name="consent")
ethics_app = typer.Typer(name="ethics", help="Ethics approvals recorded in governance/ethics.yml.",
                         no_args_is_help=True)
app.add_typer(ethics_app, name="ethics")
Participant = Annotated[
    str, typer.Argument(help="Pseudonymous participant id, e.g. P001.", show_default=False)
]
By = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the edit (default: git config user.name).", show_default=False),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (kept in the register or audit log).")]
OnDate = Annotated[
    str | None,
    typer.Option("--on", help="Date of the event, YYYY-MM-DD (default: today, UTC).", show_default=False),
]



@consent_app.command("add")
def consent_add(
    participant: Participant,
    form_version: Annotated[
        str, typer.Option("--form-version", "-f", help="Version of the signed consent form.")
    ],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope", "-s", show_default=False,
            help="A scope agreed to (repeat): participate, audio_recording, direct_quotation, archiving, "
            "future_contact. Unlisted scopes are no.",
        ),
    ] = None,
    on: OnDate = None,
    by: By = None,
    reason: Reason = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Record a consent event (re-consent is a new event); refused if it would break the registers."""
    from studykit.governance._console import edit_done
    from studykit.governance.edits import add_consent, event_date

    def body() -> None:
        edit = add_consent(
            _study(study_dir), participant, form_version=form_version, consented_on=event_date(on),
            scopes=scope or [], by=by, reason=reason,
        )
        if fmt == "json":
            typer.echo(edit.entry.line(), nl=False)
        err.print(edit_done(edit), highlight=False)

    _run(body, debug=debug)


@consent_app.command("withdraw")
def consent_withdraw(
    participant: Participant,
    scope: Annotated[
        str,
        typer.Option("--scope", "-s", help='"no further data" (keep what was collected), "remove all data".'),
    ],
    on: OnDate = None,
    reason: Reason = None,
    by: By = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Record a withdrawal; "remove all data" also takes the data out of analyses, reports and deposits."""
    from studykit.governance._console import edit_done
    from studykit.governance.edits import event_date, withdraw

    def body() -> None:
        edit = withdraw(
            _study(study_dir), participant, withdrawn_on=event_date(on), scope=scope, reason=reason, by=by
        )
        if fmt == "json":
            typer.echo(edit.entry.line(), nl=False)
        err.print(edit_done(edit), highlight=False)

    _run(body, debug=debug)


@consent_app.command("status")
def consent_status_command(
    participant: Annotated[str | None, typer.Argument(help="One participant's full history.")] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Show each participant's consent as it stands today, or one participant's full history."""
    import json

    from studykit.governance._console import consent_history, consent_table
    from studykit.governance.status import consent_status

    def body() -> None:
        rows = consent_status(_study(study_dir), participant)
        if fmt == "json":
            typer.echo(json.dumps([r.record() for r in rows], indent=2, ensure_ascii=False))
        elif participant is not None:
            out.print(consent_history(rows[0]))
        else:
            out.print(consent_table(rows))

    _run(body, debug=debug)


@ethics_app.command("status")
def ethics_status_command(study_dir: StudyDir = Path(), fmt: Format = "text", debug: Debug = False) -> None:
    """Show every ethics approval: period, state (active, expiring, expired) and consent forms."""
    import json

    from studykit.governance._console import ethics_table
    from studykit.governance.status import ethics_status

    def body() -> None:
        rows = ethics_status(_study(study_dir))
        if fmt == "json":
            typer.echo(json.dumps([r.record() for r in rows], indent=2, ensure_ascii=False))
        else:
            out.print(ethics_table(rows), highlight=False)

    _run(body, debug=debug)
# --- end consent commands ---


# --- instrument, score, package and codebook commands ---
def _write_product(text: str, output: Path | None) -> None:
    """The product as-is (no rich markup) to stdout, or to a file with a note on stderr."""
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {output}.", highlight=False)


@app.command()
def instruments(study_dir: StudyDir = Path(), fmt: Format = "text", debug: Debug = False) -> None:
    """List the instrument library and the study's own definitions (instruments/)."""
    import json

    from studykit._instruments_console import instruments_table
    from studykit.instruments import catalogue
    from studykit.study import STUDY_FILE

    def body() -> None:
        study = _study(study_dir) if (study_dir / STUDY_FILE).is_file() else None
        found = catalogue(study)
        if fmt == "json":
            used = set(study.instruments) if study else set()
            rows = [{"id": i.id, "name": i.name, "items": len(i.items), "scores": [s.id for s in i.scores],
                     "source": i.source, "in_study": i.id in used} for i in found]
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            out.print(instruments_table(found, study))

    _run(body, debug=debug)


@app.command()
def score(
    study_dir: StudyDir = Path(),
    instrument: Annotated[
        str | None, typer.Option("--instrument", "-i", help="Score one instrument (default: every one).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here, not to stdout.")
    ] = None,
    debug: Debug = False,
) -> None:
    """Compute instrument scores from the measure tables and write them as CSV.

    Only rows that consent allows for analysis are scored (the consent filter);
    what it excluded is said on stderr.
    """
    from studykit.governance.consent_filter import ConsentFilter
    from studykit.instruments.scoring import scores_table

    def body() -> None:
        study = _study(study_dir)
        consent = ConsentFilter.from_study(study)
        table = scores_table(study, instrument, consent=consent)
        _write_product(table.write_csv(), output)
        for e in consent.exclusions:
            if e.rows:
                err.print(f"Consent filter ({e.rule}): left out {e.rows} row(s) of {e.participants} "
                          f"participant(s) from {e.resource}.", highlight=False, soft_wrap=True)

    _run(body, debug=debug)


package_app = typer.Typer(name="package", help="The data package (datapackage.json).", no_args_is_help=True)
app.add_typer(package_app, name="package")


@package_app.command("sync")
def package_sync(
    study_dir: StudyDir = Path(),
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether datapackage.json is up to date (exit 1 if not).")
    ] = False,
    debug: Debug = False,
) -> None:
    """Write datapackage.json from study.yml and the instrument definitions."""
    from studykit.package import drift, write_descriptor

    def body() -> int:
        study = _study(study_dir)
        if check:
            sentences = drift(study)
            for sentence in sentences:
                typer.echo(sentence)
            if sentences:
                err.print("datapackage.json is out of date: run `studykit package sync`.", highlight=False)
                return 1
            err.print("datapackage.json is up to date.", highlight=False)
            return 0
        path = write_descriptor(study)
        err.print(f"Wrote {path} ({len(study.instruments)} instruments).", highlight=False)
        return 0

    _run(body, debug=debug)


@app.command()
def codebook(
    study_dir: StudyDir = Path(),
    fmt: Annotated[Literal["md", "html"], typer.Option("--format", help="Markdown or HTML.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not to stdout.")] = None,
    debug: Debug = False,
) -> None:
    """Write the study's codebook: variables, ranges, value labels, scoring and norms."""
    from studykit.codebook import codebook_html, codebook_markdown

    def body() -> None:
        study = _study(study_dir)
        _write_product(codebook_html(study) if fmt == "html" else codebook_markdown(study), output)

    _run(body, debug=debug)
# --- end instrument, score, package and codebook commands ---


# --- example command (the synthetic example study) ---
@app.command()
def example(
    into: Annotated[
        Path, typer.Option("--into", help="The study folder to fill (holds study.yml).", show_default=False)
    ] = Path(),
    seed: Annotated[int, typer.Option("--seed", help="Generator seed (same seed, same files).")] = 2022,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the example's files even if they already hold data.")
    ] = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Write nothing; show the published Table 3 next to this example's numbers "
            "(after the consent filter).",
        ),
    ] = False,
    fmt: Format = "text",
    debug: Debug = False,
) -> None:
    """Write the synthetic example study (a twin of a published 32-peer-worker study) into a study."""
    from studykit.example import table3_comparison, write_example

    def body() -> None:
        if compare:
            rows = table3_comparison(_study(into))
            if fmt == "json":
                out.print_json(data=rows)
            else:
                from studykit._console import comparison_table

                out.print(comparison_table(rows))
            return
        written = write_example(into, seed=seed, replace=replace)
        for path in written:
            out.print(path.as_posix(), highlight=False, soft_wrap=True)
        err.print(
            f"Wrote {len(written)} files of the synthetic example (seed {seed}). "
            "Next: `studykit package sync`, then `studykit validate`.",
            highlight=False,
        )

    _run(body, debug=debug)
# --- end example command ---


def main() -> None:
    """Entry point for ``studykit`` and ``python -m studykit``."""
    app(prog_name="studykit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
