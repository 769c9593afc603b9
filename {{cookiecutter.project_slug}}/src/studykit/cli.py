"""The ``studykit`` command line: one thin command per job.

A command parses its options, calls one library function, hands the result to
``studykit.render`` and returns an exit code. The error boundary is the root group's
``invoke`` (one place): exit 0 when clean (or only warnings), 1 when the data have
errors, 2 when the command could not run, with one sentence on stderr and a traceback
only with the global ``--debug``. The product (a report, a table, JSON) goes to stdout,
the conversation to stderr.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperCommand, TyperGroup

from studykit import __version__, render
from studykit.errors import StudykitError
from studykit.study import Study, load_study

out = render.console()
err = render.console(stderr=True)

DEBUG_HINT = "Run it again with --debug to see the traceback."


# --- the scaffolding every command shares -------------------------------------------------------


class _Flags:
    """Flags take no value, so ``--help`` shows none (typer would print ``<bool>``)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return params


class _Command(_Flags, TyperCommand):
    pass


class _Group(_Flags, TyperGroup):
    """Every ``studykit`` group; the root one is the error boundary."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # `studykit validate --debug` means `studykit --debug validate`
            end = args.index("--") if "--" in args else len(args)
            if "--debug" in args[:end]:
                args = ["--debug", *(a for a in args[:end] if a != "--debug"), *args[end:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        if ctx.parent is not None:
            return super().invoke(ctx)
        try:
            code = super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # help, usage errors, exit codes
            raise
        except StudykitError as exc:
            _stop(ctx, exc.sentence(), exc)
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(2) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _stop(ctx, f"{where}{exc.strerror or exc}. {DEBUG_HINT}", exc)
        except Exception as exc:
            sentence = (
                f"studykit stopped on an unexpected error ({type(exc).__name__}: {exc}). {DEBUG_HINT} "
                "Please report it with the study's studykit version."
            )
            _stop(ctx, sentence, exc)
        raise typer.Exit(code or 0)


def _stop(ctx: typer.Context, sentence: str, exc: BaseException) -> None:
    if ctx.params.get("debug"):
        err.print_exception()
    err.print(render.failure(sentence), soft_wrap=True)
    raise typer.Exit(getattr(exc, "exit_code", 2)) from exc


class _App(typer.Typer):
    """A typer app whose groups and commands use the shared scaffolding above."""

    def __init__(self, name: str, help: str, **kwargs: Any) -> None:
        super().__init__(
            name=name, help=help, cls=_Group, no_args_is_help=True, add_completion=False,
            rich_markup_mode="rich", **kwargs,
        )  # fmt: skip

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


StudyDir = Annotated[
    Path, typer.Option("--study-dir", "-C", help="The study folder (holds study.yml).", show_default=False)
]
Format = Annotated[Literal["text", "json"], typer.Option("--format", help="Output format for the product.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not to stdout.")]


def _show(result: object, fmt: str) -> None:
    """The product on stdout: JSON, or the terminal view (nothing when there is nothing to show)."""
    if fmt == "json":
        typer.echo(render.to_json(result), nl=False)
        return
    view = render.to_text(result)
    if view is not None:
        out.print(view)


def _say(sentence: str) -> None:
    """Conversation on stderr."""
    err.print(render.note(sentence), soft_wrap=True)


def _write_product(text: str, output: Path | None, study: Study, *, product: str, example: str) -> None:
    """The product as-is to stdout, or to a file (never a study-owned one) with a note on stderr.

    Piped, stdout gets exactly what ``-o`` would write (``typer.echo`` would drop escape
    sequences from the values); on a terminal, control characters are written out as
    ``\\xNN`` so that a value cannot restyle or clear the screen.
    """
    if output is None:
        sys.stdout.write(render.visible(text) if sys.stdout.isatty() else text)
        sys.stdout.flush()
        return
    from studykit.files import product_target, write_file

    write_file(product_target(study, output, product=product, example=example), text)
    _say(f"Wrote {output}.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"studykit {__version__}")
        raise typer.Exit(0)


app = _App("studykit", "Run, check and archive a reproducible mixed-methods study.")


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback when a command fails (also after the command)."),
    ] = False,
) -> None:
    """Run, check and archive a reproducible mixed-methods study."""


# --- study, validation, instruments, scores, data package, codebook ----------------------------


@app.command()
def info(study_dir: StudyDir = Path(), fmt: Format = "text") -> None:
    """Show the study's design from study.yml: waves, instruments, strands."""
    _show(load_study(study_dir), fmt)


@app.command()
def validate(
    ctx: typer.Context,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the JSON report to this file (never a study file).",
                     show_default=False),
    ] = None,
    accept: Annotated[
        bool, typer.Option("--accept", help="First record the data files' checksums as accepted (integrity).")
    ] = False,
) -> int:
    """Check every data file, register and transcript; report every problem at once.

    Exit code 0: clean or warnings only; 1: errors found; 2: something could not be checked.
    """
    from studykit.checks import exit_code
    from studykit.checks import validate as run_validation
    from studykit.checks.integrity import accept as accept_manifest
    from studykit.files import report_target, write_file

    study = load_study(study_dir)
    target = report_target(study, output)
    if accept:
        _say(f"Recorded the checksums of the data files in {accept_manifest(study).as_posix()}.")
    with render.validation_progress(err) as progress:
        report = run_validation(study, progress=progress, raise_errors=ctx.find_root().params["debug"])
    if target is not None:
        write_file(target, render.to_json(report))
    _show(report, fmt)
    code = exit_code(report)
    err.print(render.validation_summary(report, code, written_to=target))
    return code


@app.command("rule")
def rule_command(
    code: Annotated[
        str | None, typer.Argument(help="A rule code, such as STR016 (default: list every rule).",
                                   show_default=False)
    ] = None,
    fmt: Format = "text",
) -> None:
    """Explain a validation rule: what it means, what to do, what it waits for; or list every rule.

    Examples of each rule's findings: docs/rules.md.
    """
    from studykit.checks import find_rule, load_rules
    from studykit.checks.findings import LAYERS

    if code is None:
        _show(sorted(load_rules().values(), key=lambda r: (LAYERS.index(r.layer), r.code)), fmt)
    else:
        _show(find_rule(code), fmt)


@app.command()
def instruments(study_dir: StudyDir = Path(), fmt: Format = "text") -> None:
    """List the instrument library and the study's own definitions (instruments/)."""
    from studykit.instruments import listing
    from studykit.study import STUDY_FILE

    _show(listing(load_study(study_dir) if (study_dir / STUDY_FILE).is_file() else None), fmt)


@app.command()
def score(
    study_dir: StudyDir = Path(),
    instrument: Annotated[
        str | None, typer.Option("--instrument", "-i", help="Score one instrument (default: every one).")
    ] = None,
    output: Output = None,
    allow_errors: Annotated[
        bool,
        typer.Option("--allow-errors", help="Score despite validation errors, leaving out (and marking) what "
                     "they name."),
    ] = False,
) -> None:
    """Compute instrument scores from the measure tables and write them as CSV.

    Refuses (exit 1) when validation finds errors in the key or item columns, unless
    --allow-errors. Only rows that consent allows for analysis are scored (the consent
    filter); what it excluded is said on stderr. Text cells a spreadsheet would run as
    a formula get a leading ' (said on stderr).
    """
    from studykit.governance.consent_filter import ConsentFilter
    from studykit.instruments.scoring import checked_scores_table

    study = load_study(study_dir)
    consent = ConsentFilter.from_study(study)
    table, errors = checked_scores_table(study, instrument, consent=consent, allow_errors=allow_errors)
    text, neutralised = render.spreadsheet_csv(table)
    _write_product(text, output, study, product="scores", example="-o scores.csv")
    if neutralised:
        _say(render.FORMULA_NOTE.format(n=neutralised))
    if errors:
        _say(f"Scored despite {len(errors)} validation error(s): what they name was left out "
             "(see the left_out column).")
    for e in consent.exclusions:
        if e.rows:
            _say(f"Consent filter ({e.rule}): left out {e.rows} row(s) of {e.participants} "
                 f"participant(s) from {e.resource}.")


package_app = _App("package", "The data package (datapackage.json).")
app.add_typer(package_app)


@package_app.command("sync")
def package_sync(
    study_dir: StudyDir = Path(),
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether datapackage.json is up to date (exit 1 if not).")
    ] = False,
) -> int:
    """Write datapackage.json from study.yml and the instruments; create missing data files (header only)."""
    from studykit.package import create_missing_tables, drift, write_descriptor

    study = load_study(study_dir)
    if check:
        sentences = drift(study)
        for sentence in sentences:
            typer.echo(render.visible(sentence))
        if sentences:
            _say("datapackage.json is out of date: run `studykit package sync`.")
            return 1
        _say("datapackage.json is up to date.")
        return 0
    path = write_descriptor(study)
    _say(f"Wrote {path} ({len(study.instruments)} instruments).")
    for created in create_missing_tables(study):
        where = created.relative_to(study.root).as_posix()
        _say(f"Created {where} with its header row only: add the data there.")
    return 0


@app.command()
def codebook(
    study_dir: StudyDir = Path(),
    fmt: Annotated[Literal["md", "html"], typer.Option("--format", help="Markdown or HTML.")] = "md",
    output: Output = None,
) -> None:
    """Write the study's codebook: variables, ranges, value labels, scoring and norms."""
    from studykit.codebook import codebook_html, codebook_markdown

    study = load_study(study_dir)
    text = codebook_html(study) if fmt == "html" else codebook_markdown(study)
    _write_product(text, output, study, product="a codebook", example=f"-o codebook.{fmt}")


# --- labelled exports (SPSS, Stata, CSV for R) --------------------------------------------------


@app.command("export")
def export_command(
    to: Annotated[
        Literal["spss", "stata", "csv"],
        typer.Option("--to", help="spss (.sav), stata (.dta) or csv (with datapackage.json, for R)."),
    ],
    folder: Annotated[
        Path | None,
        typer.Argument(help="Folder to write into (default: exports/ in the study, git-ignored).",
                       show_default=False),
    ] = None,
    study_dir: StudyDir = Path(),
    allow_errors: Annotated[
        bool,
        typer.Option("--allow-errors", help="Export despite validation errors in the key and item columns "
                     "(what they name is not scored; see the left_out column)."),
    ] = False,
    fmt: Format = "text",
) -> None:
    """Write each data table as a labelled SPSS, Stata or CSV file, consent-filtered.

    Variable labels, value labels, measurement levels and computed scores come from the
    instrument definitions; names the format cannot hold are mapped (variables.csv).
    Refuses (exit 1) on validation errors where scoring looks, unless --allow-errors.
    """
    from studykit.export import export_study

    result = export_study(load_study(study_dir), to, folder, allow_errors=allow_errors)
    _show(result, fmt)
    for sentence in result.warnings:
        err.print(render.warning(sentence), soft_wrap=True)
    for e in result.exclusions:
        _say(f"Consent filter ({e['rule']}): left out {e['rows']} row(s) of {e['participants']} "
             f"participant(s) from {e['resource']}.")
    if result.neutralised:
        _say(render.FORMULA_NOTE.format(n=result.neutralised))


# --- consent and ethics (governance registers, audited edits) ----------------------------------

consent_app = _App("consent", "Consent register: record consent and withdrawals (audited), show status.")
app.add_typer(consent_app)
ethics_app = _App("ethics", "Ethics approvals recorded in governance/ethics.yml.")
app.add_typer(ethics_app)

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
) -> None:
    """Record a consent event (re-consent is a new event); refused if it would break the registers."""
    from studykit.governance.edits import add_consent, event_date

    entry = add_consent(
        load_study(study_dir), participant, form_version=form_version, consented_on=event_date(on),
        scopes=scope or [], by=by, reason=reason,
    )  # fmt: skip
    if fmt == "json":
        _show(entry, fmt)
    err.print(render.edit_done(entry), soft_wrap=True)


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
) -> None:
    """Record a withdrawal; "remove all data" also takes the data out of analyses, reports and deposits."""
    from studykit.governance.edits import event_date, withdraw

    entry = withdraw(
        load_study(study_dir), participant, withdrawn_on=event_date(on), scope=scope, reason=reason, by=by
    )
    if fmt == "json":
        _show(entry, fmt)
    err.print(render.edit_done(entry), soft_wrap=True)


@consent_app.command("status")
def consent_status_command(
    participant: Annotated[str | None, typer.Argument(help="One participant's full history.")] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """Show each participant's consent as it stands today, or one participant's full history."""
    from studykit.governance.status import consent_status

    rows = consent_status(load_study(study_dir), participant)
    # One participant: their full history on the terminal; JSON is always the list.
    _show(rows[0] if participant is not None and fmt == "text" else rows, fmt)
    if not rows:
        _say("Nobody is in governance/consent.csv or data/participants.csv yet.")


# --- erasure after a "remove all data" withdrawal (issue 20) -------------------------------------


@consent_app.command("decide")
def consent_decide(
    participant: Participant,
    decision: Annotated[
        str, typer.Option("--decision", help='"erase", or "retain" (the research exemption applies).')
    ],
    on: OnDate = None,
    by: By = None,
    reason: Reason = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """Record the data protection officer's decision on a "remove all data" request (audited)."""
    from studykit.governance.edits import event_date
    from studykit.governance.erasure import decide

    result = decide(
        load_study(study_dir), participant, decision=decision, decided_on=event_date(on), by=by, reason=reason
    )
    if fmt == "json":
        _show(result, fmt)
    err.print(render.edit_done(result), soft_wrap=True)


@consent_app.command("erase")
def consent_erase(
    participant: Participant,
    apply: Annotated[
        bool,
        typer.Option("--apply/--dry-run", help="Erase (needs a decision to erase), or only list (default)."),
    ] = False,
    by: By = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """List every place a participant's data live; with --apply, erase what is local and log it."""
    from studykit.governance.erasure import erase, erasure_manifest

    study = load_study(study_dir)
    _show(erase(study, participant, by=by) if apply else erasure_manifest(study, participant), fmt)


@ethics_app.command("status")
def ethics_status_command(study_dir: StudyDir = Path(), fmt: Format = "text") -> None:
    """Show every ethics approval: period, state (active, expiring, expired) and consent forms."""
    from studykit.governance.status import ethics_status

    rows = ethics_status(load_study(study_dir))
    _show(rows, fmt)
    if not rows:
        _say("No ethics approval is recorded in governance/ethics.yml: add the committee, reference, dates "
             "and approved consent form versions (see docs/governance.md).")


review_app = _App("review", "Record that a person reviewed a disclosure finding.")
app.add_typer(review_app)


@review_app.command("add")
def review_add(
    file: Annotated[Path, typer.Argument(help="The file the finding names, as the report shows it.",
                                         show_default=False)],
    row: Annotated[int, typer.Option("--row", help="The finding's row (a transcript's line).")],
    code: Annotated[str, typer.Option("--code", help="The finding's code, e.g. DIS001.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is not an identifier (kept on record).")],
    column: Annotated[str | None, typer.Option("--column", help="The column (tables only).")] = None,
    on: OnDate = None,
    by: By = None,
    study_dir: StudyDir = Path(),
) -> None:
    """Record that a person reviewed a disclosure finding; validate then reports it as reviewed.

    governance/reviewed.csv keeps the file, row, column, code, a hash of the flagged
    text (never the text), who, when and why.
    """
    from studykit.governance.edits import event_date
    from studykit.governance.reviews import add_review

    added = add_review(load_study(study_dir), file, row=row, code=code, column=column, reason=reason, by=by,
                       on=event_date(on) if on else None)  # fmt: skip
    _say(f"Recorded {len(added)} reviewed finding(s) in governance/reviewed.csv." if added
         else "Already recorded: nothing to add.")  # fmt: skip


# --- qualitative strand: transcripts, pseudonymisation, REFI-QDA and Taguette exchange ----------

qual_app = _App("qual", "Qualitative strand: transcripts, coding, REFI-QDA and Taguette exchange.")
app.add_typer(qual_app)

QualFile = Annotated[
    Path,
    typer.Argument(
        help="A REFI-QDA project (.qdpx) or codebook (.qdc), or a Taguette codebook or highlights CSV.",
        show_default=False,
    ),
]


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
) -> None:
    """Import a REFI-QDA project or codebook, or a Taguette codebook or highlights export."""
    from studykit.qual.exchange import import_file

    _show(import_file(load_study(study_dir), file, replace=replace, coder=coder, by=by), fmt)


@qual_app.command("export")
def qual_export(
    qdpx: Annotated[
        bool, typer.Option("--qdpx", help="Export the project as REFI-QDA (.qdpx): the default.")
    ] = False,
    qdc: Annotated[bool, typer.Option("--qdc", help="Export the codebook only, as REFI-QDA (.qdc).")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: exports/<slug>.qdpx or .qdc, git-ignored)."
        ),
    ] = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """Export transcripts, codebook and coded segments for NVivo, ATLAS.ti, MAXQDA or QualCoder."""
    from studykit.qual.exchange import export_file

    if qdpx and qdc:
        msg = "--qdpx and --qdc cannot be used together"
        raise StudykitError(msg, fix="Choose one.")
    study = load_study(study_dir)
    _show(export_file(study, "qdc" if qdc else "qdpx", output), fmt)


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
) -> None:
    """Convert a Word (.docx) transcript into a Markdown transcript with front matter and speaker turns."""
    from studykit.qual.docx_import import import_docx

    result = import_docx(
        load_study(study_dir), file, kind=kind, wave=wave, date=date.date(), transcript_id=transcript_id,
        interviewer=interviewer, participants=participant or [], duration_minutes=duration,
        speakers=_speaker_map(speaker or []), output=output,
    )  # fmt: skip
    for warning in result.warnings:
        err.print(render.warning(warning), soft_wrap=True)
    _show(result, fmt)


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
) -> None:
    """Write a pseudonymised copy of a transcript ([Name1]-style); log each replacement outside the study."""
    from studykit.qual.pseudonymise import pseudonymise_transcript

    result = pseudonymise_transcript(
        load_study(study_dir), transcript, map_path=map_file, output=output, log_dir=log_dir
    )
    for warning in result.warnings:
        err.print(render.warning(warning), soft_wrap=True)
    _show(result, fmt)


# --- the report: results, then Quarto (or the labelled preview) ----------------------------------


@app.command()
def report(
    study_dir: StudyDir = Path(),
    check: Annotated[
        bool, typer.Option("--check", help="Only check the pages: front matter, includes, vars, labels, "
                           "figure files (exit 1 on problems).")
    ] = False,
    skip_results: Annotated[
        bool, typer.Option("--skip-results", help="Render the _results/ already there (do not recompute).")
    ] = False,
    renderer: Annotated[
        Literal["auto", "quarto", "preview"],
        typer.Option("--renderer", help="auto: Quarto when on PATH, else the pandoc preview."),
    ] = "auto",
    fmt: Format = "text",
) -> int:
    """Compute the results, then render reports/ with Quarto into reports/_site/.

    Without Quarto on PATH, a preview made with pandoc goes to reports/_preview/,
    labelled on every page as not the Quarto report. Exit 1 when a page names an
    include, var, label or figure that does not exist.
    """
    from studykit.report import lint_reports, make_report, reports_dir

    study = load_study(study_dir)
    if check:
        lint = lint_reports(reports_dir(study))
        if fmt == "json":
            _show(lint, fmt)
        for problem in lint.problems:
            typer.echo(render.visible(problem.sentence()))
        _say(f"Checked {len(lint.pages)} page(s) of reports/: "
             + ("no problems." if lint.valid else f"{len(lint.problems)} problem(s)."))  # fmt: skip
        return 0 if lint.valid else 1
    built = make_report(study, compute=not skip_results, renderer=renderer)
    if fmt == "json":
        _show(built, fmt)
    where = built.index.as_posix()
    if built.renderer == "quarto":
        _say(f"Rendered the report with Quarto: open {where}.")
    else:
        err.print(render.warning(f"{built.reason}: this is a PREVIEW made with pandoc, not the Quarto "
                                 "report (each page says what differs)."), soft_wrap=True)  # fmt: skip
        _say(f"Preview written: open {where}. Install Quarto (https://quarto.org/docs/get-started/ or "
             "`pip install quarto-cli`) for the report itself.")  # fmt: skip
    return 0


# --- template lifecycle: template check / update, doctor -----------------------------------------

template_app = _App("template", "Keep the study up to date with the template it was made from (cruft).")
app.add_typer(template_app)

TemplateSource = Annotated[
    str | None,
    typer.Option("--template", help="Read the template from here for this run (git URL or local clone).",
                 show_default=False),
]


@template_app.command("check")
def template_check(
    to: Annotated[
        str | None, typer.Option("--to", help="Compare with this branch or tag (default: the newest).")
    ] = None,
    template: TemplateSource = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> int:
    """Say whether a newer template exists.

    Exit code 0: the study is on the newest template; 1: a newer one exists (it says which);
    2: cannot tell (no answers recorded, template unreachable).
    """
    from studykit.template import check

    status = check(study_dir, template=template, ref=to)
    _show(status, fmt)
    return status.exit_code


@template_app.command("update")
def template_update(
    to: Annotated[
        str | None, typer.Option("--to", help="Update to this branch, tag or commit (default: the newest).")
    ] = None,
    template: TemplateSource = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> int:
    """Apply the template's changes since this study was made or last updated; never commits.

    Refuses a working tree with uncommitted changes. Study-owned files (the skip list under
    tool.cruft in pyproject.toml) are never changed.

    Exit code 0: updated (or nothing to do); 1: files left in conflict, each listed with what
    to do; 2: the update could not run.
    """
    from studykit.template import update

    result = update(study_dir, to=to, template=template)
    _show(result, fmt)
    return result.exit_code


@app.command()
def doctor(study_dir: StudyDir = Path(), fmt: Format = "text") -> int:
    """Check the study's copy of studykit against the template's checksums, and its template records.

    Exit code 1 when vendored files were edited or deleted, answers are not recorded, or an
    update left conflicts.
    """
    from studykit.doctor import diagnose

    report = diagnose(study_dir)
    _show(report, fmt)
    return report.exit_code


# --- survey platforms: REDCap and Qualtrics (dictionary out, exports in) ------------------------

survey_app = _App("survey", "REDCap and Qualtrics: build the survey from the instruments, import exports.")
app.add_typer(survey_app)
PlatformOption = Literal["redcap", "qualtrics"]


@survey_app.command("dictionary")
def survey_dictionary(
    to: Annotated[PlatformOption, typer.Option("--to", help="redcap (dictionary CSV) or qualtrics (TXT).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.", show_default=False)],
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """Write the survey for the study's instruments: a REDCap data dictionary or a Qualtrics TXT.

    For a REDCap study with several waves, the events and the instrument-event mapping are
    written beside the dictionary (<name>-events.csv, <name>-instrument-events.csv).
    """
    from studykit.survey import write_dictionary

    _show(write_dictionary(load_study(study_dir), to, output), fmt)


@survey_app.command("import")
def survey_import(
    file: Annotated[Path, typer.Argument(help="The export (CSV).", show_default=False)],
    platform: Annotated[PlatformOption, typer.Option("--from", help="redcap or qualtrics.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace stored rows whose values differ (else refused).")
    ] = False,
    wave_column: Annotated[
        str | None, typer.Option("--wave-column", help="The export's column that holds the wave.")
    ] = None,
    wave: Annotated[
        str | None, typer.Option("--wave", help="Qualtrics: the wave of every response in the file.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Qualtrics: the column holding the participant id "
                                 "(default ExternalReference).")
    ] = None,
    dictionary: Annotated[
        Path | None, typer.Option("--dictionary", help="REDCap: the project's data dictionary, so fields "
                                  "flagged Identifier? = y are dropped by name.")
    ] = None,
    by: By = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> int:
    """Merge a REDCap or Qualtrics export into data/measures/ (audited); identifying columns are dropped.

    New rows are added, identical rows left alone, rows that differ from what is stored are
    refused unless --replace. Any problem with the export means nothing is written.
    Exit code 0: merged cleanly; 1: problems, refused rows or validation errors in the rows.
    """
    from studykit.survey import import_export

    result = import_export(
        load_study(study_dir), file, platform, replace=replace, dry_run=dry_run, wave_column=wave_column,
        wave=wave, id_column=id_column, dictionary=dictionary, by=by,
    )  # fmt: skip
    _show(result, fmt)
    return 0 if result.clean else 1


# --- results: the report's numbers, tables and figures ------------------------------------------


@app.command()
def results(study_dir: StudyDir = Path(), fmt: Format = "text") -> None:
    """Compute every table, figure and number of the report into reports/_results/.

    From validated, consent-filtered data only: refuses (exit 1) when validation finds
    errors. Also writes reports/_variables.yml (numbers quoted in prose) and
    reports/_results/results.json (every number the report cites). See docs/report.md.
    """
    from studykit.results import write_results

    written = write_results(load_study(study_dir))
    if fmt == "json":
        _show(written, fmt)
    n = written.variables["n"]
    _say(f"Wrote {len(written.files)} files to {written.folder}/ and reports/_variables.yml: "
         f"{n['analysed']} participants analysed over {n['waves']} waves, {n['themes']} themes, "
         f"{n['propositions']} propositions.")


# --- deposit: tiered archive packages, and a check for any deposit received ---------------------


@app.command()
def deposit(
    study_dir: StudyDir = Path(),
    tier: Annotated[
        Literal["open", "safeguarded"] | None,
        typer.Option("--tier", help="Access tier of the deposit (default: study.yml archive.access).",
                     show_default=False),
    ] = None,
    target: Annotated[
        Literal["reshare", "zenodo", "osf", "dryad", "datacite"] | None,
        typer.Option("--target", help="Repository (default: from study.yml archive.target).",
                     show_default=False),
    ] = None,
    make_zip: Annotated[
        bool, typer.Option("--zip", help="Also write deposit/<name>.zip (deterministic).")
    ] = False,
    confirm_permanent: Annotated[
        bool,
        typer.Option("--confirm-permanent", help="Confirm transcripts may go to a target whose files cannot "
                     "change after publication (Zenodo)."),
    ] = False,
    fmt: Format = "text",
) -> None:
    """Build deposit/<slug>-<version>-<tier>/: a BagIt bag of the consent-filtered data package.

    Refuses (exit 1) while validate finds errors, or when the target cannot take the
    deposit. Controlled resources are described, never shipped. See docs/deposit.md.
    """
    from studykit.deposit import build_deposit

    built = build_deposit(load_study(study_dir), tier=tier, target=target, make_zip=make_zip,
                          confirm_permanent=confirm_permanent)  # fmt: skip
    if fmt == "json":
        _show(built, fmt)
    _say(f"Wrote {built.path.as_posix()} ({built.tier}, for {built.target}: {built.target_access}); "
         f"{len(built.shipped)} resource(s) shipped, {len(built.described)} described; "
         f"{built.participants} participant(s), recorded in {built.record.as_posix()}.")  # fmt: skip
    if built.zip is not None:
        _say(f"Wrote {built.zip.as_posix()}.")
    for warning in built.warnings:
        err.print(render.warning(warning), soft_wrap=True)


@app.command("check-deposit")
def check_deposit_command(
    path: Annotated[
        Path, typer.Argument(help="A bag, or a folder holding datapackage.json.", show_default=False)
    ],
    fmt: Format = "text",
) -> int:
    """Verify a deposit from anyone: bag structure and fixity, data package, tiers, consent summary.

    Exit code 0: valid; 1: problems found; 2: not a bag or a data package.
    """
    from studykit.deposit import check_deposit

    report = check_deposit(path)
    _show(report, fmt)
    code = 0 if report.valid else 1
    verdict = "valid" if code == 0 else f"invalid: {len(report.errors)} error(s)"
    checked = ", ".join(report.checked)
    _say(f"{path.as_posix()}: {verdict}, {len(report.warnings)} warning(s). Checked: {checked}.")
    return code


# --- public involvement (governance/involvement.yml, GRIPP2) ------------------------------------

involvement_app = _App("involvement", "Public involvement log: record activities (audited), show the log.")
app.add_typer(involvement_app)


@involvement_app.command("add")
def involvement_add(
    stage: Annotated[str, typer.Option("--stage", help="Stage of the research, e.g. design, data collection, "
                                       "analysis (docs/involvement.md lists them).", show_default=False)],
    nature: Annotated[str, typer.Option("--nature", help="consultation, collaboration, co-production or "
                                        "user-led.", show_default=False)],
    who: Annotated[list[str], typer.Option("--who", help="A contributor id from the log (repeat for each).",
                                           show_default=False)],
    summary: Annotated[str, typer.Option("--summary", help="What happened, in a sentence or two.",
                                         show_default=False)],
    date: Annotated[str | None, typer.Option("--date", help="Date of the activity, YYYY-MM-DD (default: "
                                             "today, UTC).", show_default=False)] = None,
    by: By = None,
    study_dir: StudyDir = Path(),
    fmt: Format = "text",
) -> None:
    """Add an involvement activity to governance/involvement.yml, audited in governance/audit.log."""
    from studykit.governance.edits import event_date
    from studykit.governance.involvement import add_activity

    added = add_activity(load_study(study_dir), on=event_date(date), stage=stage, nature=nature, who=who,
                         summary=summary, by=by)  # fmt: skip
    if fmt == "json":
        _show(added, fmt)
    a = added.activity
    _say(f"Recorded activity {a['id']} ({a['stage']}, {a['nature']}, {a['date']}) in {added.file} "
         "(audit: governance/audit.log).")


@involvement_app.command("show")
def involvement_show(study_dir: StudyDir = Path(), fmt: Format = "text") -> None:
    """Show the involvement log: contributors (ids and roles), activities, and the GRIPP2 items it fills."""
    from studykit.governance.involvement import involvement_summary

    summary = involvement_summary(load_study(study_dir))
    if summary.exists or fmt == "json":
        _show(summary, fmt)
    if not summary.exists:
        _say("This study has no governance/involvement.yml yet (see docs/involvement.md).")
    elif summary.problems:
        _say(f"The log has {summary.problems} problem(s): run studykit validate to see them.")


def main() -> None:
    """Entry point for ``studykit`` and ``python -m studykit``."""
    app(prog_name="studykit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
