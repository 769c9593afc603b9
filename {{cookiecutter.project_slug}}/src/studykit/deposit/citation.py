"""The deposit's texts for people: README, LICENSE, CITATION.cff, codebook, consent summary.

Also the check that the public metadata (title, description, keywords, resource titles
and conditions) name no participant or site and quote nobody: repositories publish
metadata even when files are restricted (Zenodo: "metadata is always public").
Nothing here holds a build time; the release date is the plan's.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl

from studykit import __version__
from studykit.codebook import codebook_markdown
from studykit.qual.identifiers import find_identifiers
from studykit.qual.transcripts import read_transcript, transcript_paths

if TYPE_CHECKING:
    from studykit.deposit.staging import Plan

SPDX = "https://spdx.org/licenses/{}.html"
QUOTED = re.compile(r"[\"“”‘’']([^\"“”‘’']{12,})[\"“”‘’']")
WORDS = re.compile(r"[A-Za-z']+")
QUOTE_WORDS = 8  # this many words in a row from a transcript count as a quotation


def _q(text: str) -> str:
    """A YAML scalar: JSON quoting is valid YAML, so any text is safe."""
    return json.dumps(text, ensure_ascii=False)


def creators(plan: Plan) -> list[dict[str, str]]:
    study = plan.study
    if study.archive.creators:
        return [c.model_dump(exclude_none=True) for c in study.archive.creators]
    return [{"name": study.principal_investigator, "affiliation": study.institution}]


def citation_cff(plan: Plan) -> str:
    """CITATION.cff (schema 1.2.0, type dataset)."""
    study = plan.study
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use these data, please cite them as below."',
        "type: dataset",
        f"title: {_q(study.title)}",
        f"version: {_q(study.version)}",
        f"date-released: {_q(plan.released.isoformat())}",
        f"license: {_q(study.licences.data)}",
        "authors:",
    ]
    for creator in creators(plan):
        given, _, family = creator["name"].rpartition(" ")
        if given:
            lines += [f"  - family-names: {_q(family)}", f"    given-names: {_q(given)}"]
        else:
            lines.append(f"  - name: {_q(creator['name'])}")
        if creator.get("orcid"):
            lines.append(f"    orcid: {_q('https://orcid.org/' + creator['orcid'])}")
        if creator.get("affiliation"):
            lines.append(f"    affiliation: {_q(creator['affiliation'])}")
    if study.description:
        lines.append(f"abstract: {_q(study.description)}")
    if study.archive.keywords:
        lines += ["keywords:", *(f"  - {_q(k)}" for k in study.archive.keywords)]
    return "\n".join(lines) + "\n"


def licence(plan: Plan) -> str:
    study = plan.study
    return (
        f"The data in this deposit are licensed under {study.licences.data}\n"
        f"({SPDX.format(study.licences.data)}),\n"
        f"subject to the access conditions of each file (README.md, ro-crate-metadata.json).\n"
        f"Access tier of this deposit: {plan.tier}.\n"
    )


def codebook(plan: Plan) -> str:
    return codebook_markdown(plan.study)


def readme(plan: Plan) -> str:
    """README.md for re-users: what is here, what is not and how to apply, how to cite, consent."""
    study = plan.study
    target = plan.target
    lines = [f"# {study.title}", ""]
    if study.description:
        lines += [study.description, ""]
    lines += [
        f"Version {study.version}, released {plan.released.isoformat()}. Access tier: **{plan.tier}** "
        f"({target.name}: {target.tiers[plan.tier]}). Data licence: {study.licences.data}.",
        "",
        "## What is in this deposit",
        "",
        "| file | resource | access | conditions |",
        "|---|---|---|---|",
    ]
    for item in plan.shipped:
        lines.append(
            f"| `{item.path}` | {item.title or item.name} | {item.access.tier} | {item.access.conditions} |"
        )
    lines += _labelled_section(plan)
    lines += [
        "",
        "Also: `datapackage.json` (Frictionless Data Package: every table's fields, types and keys), "
        "`codebook.md` (variables, value labels, scoring), `consent-summary.json` (how consent shaped "
        "this deposit: counts only), `CITATION.cff`, `LICENSE`, `ro-crate-metadata.json` (RO-Crate 1.1).",
        "",
    ]
    described = plan.described
    if described:
        lines += ["## Held back: what exists and how to apply", ""]
        for item in described:
            lines.append(f"- **{item.title or item.name}** (`{item.path}`): {item.reason}.")
        lines += ["", f"To apply, contact {study.principal_investigator}, {study.institution} "
                  f"({study.contact_email}).", ""]  # fmt: skip
    lines += [
        "## Consent",
        "",
        "Only participants whose consent covers archiving (and each file's own consent scope) are in "
        "these files; anyone who asked for all of their data to be removed is absent. Participant ids "
        "are pseudonyms.",
        "",
        "## How to cite",
        "",
        "See `CITATION.cff`.",
        "",
        f"Built by studykit {__version__}. Check this deposit with `studykit check-deposit PATH`.",
    ]
    return "\n".join(lines) + "\n"


def _labelled_section(plan: Plan) -> list[str]:
    """The labelled SPSS and Stata files, each beside the CSV it holds the rows of."""
    from studykit.deposit import labelled

    made = labelled.sources(plan)
    if not made:
        return []
    lines = [
        "",
        "## Labelled files for SPSS and Stata",
        "",
        "Each holds exactly the rows and columns of the CSV named beside it, with variable labels, "
        "value labels and measurement levels from the instrument definitions. Names SPSS or Stata "
        f"cannot hold are mapped; `{labelled.MAPPING}` lists every variable's names and full labels "
        "(a label longer than a format holds is cut in that file). The files' creation time is the "
        "release date.",
        "",
        "| file | rows of |",
        "|---|---|",
    ]
    lines += [f"| `{path}` | `{item.path}` |" for path, item in sorted(made.items())]
    return lines


def _latest_versions(plan: Plan, ids: list[str]) -> Counter[str]:
    registers = plan.consent.registers
    versions: Counter[str] = Counter()
    for pid in ids:
        latest = registers.latest(pid)
        versions[latest.form_version if latest else "(none)"] += 1
    return versions


def consent_summary(plan: Plan) -> dict[str, Any]:
    """Counts and consent form versions, never the register: what check-deposit compares to the data."""
    ids = plan.participant_ids()
    return {
        "format": "studykit-consent-summary/1",
        "tier": plan.tier,
        "participants": len(ids),
        "form_versions": dict(sorted(_latest_versions(plan, ids).items())),
        "resources": {
            item.path: {
                "resource": item.name,
                "consent_scope": item.access.consent_scope,
                "rows": item.rows,
                "participants": len(item.participants),
            }
            for item in plan.shipped
        },
        "excluded": [
            {
                "rule": e["rule"],
                "resource": e["resource"],
                "participants": e["participants"],
                "rows": e["rows"],
            }
            for e in plan.consent.summary()
        ],
    }


# --- public metadata ------------------------------------------------------------------------------


def public_texts(plan: Plan) -> dict[str, str]:
    """Every text a repository shows to anyone: where -> text."""
    study = plan.study
    texts = {"title": study.title, "description": study.description}
    texts.update({f"keywords[{n}]": k for n, k in enumerate(study.archive.keywords)})
    for item in plan.items:
        if item.placement in ("shipped", "described"):
            texts[f"{item.name} title"] = item.title
            texts[f"{item.name} conditions"] = item.access.conditions
    return texts


def _known_values(plan: Plan) -> tuple[set[str], set[str]]:
    """Participant ids (register and participants.csv) and site names, as the data hold them."""
    study = plan.study
    ids = set(plan.consent.registers.participants)
    sites: set[str] = set()
    if study.participants_path.is_file():
        frame = pl.read_csv(study.participants_path, infer_schema=False)
        if "participant_id" in frame.columns:
            ids |= set(frame.get_column("participant_id").drop_nulls().to_list())
        if "site" in frame.columns:
            sites = {s for s in frame.get_column("site").drop_nulls().to_list() if s.strip()}
    return ids, sites


def _transcript_phrases(plan: Plan) -> set[tuple[str, ...]]:
    phrases: set[tuple[str, ...]] = set()
    for path in transcript_paths(plan.study):
        words = [w.lower() for w in WORDS.findall(read_transcript(path, root=plan.study.root).body)]
        phrases |= {tuple(words[i : i + QUOTE_WORDS]) for i in range(len(words) - QUOTE_WORDS + 1)}
    return phrases


def public_metadata_problems(plan: Plan) -> list[str]:
    """Sentences naming public metadata that hold a participant id, a site, an identifier or a quotation."""
    ids, sites = _known_values(plan)
    phrases = _transcript_phrases(plan)
    problems = []
    for where, text in public_texts(plan).items():
        tokens = set(re.findall(r"[\w-]+", text))
        for pid in sorted(ids & tokens):
            problems.append(f"The public {where} names participant {pid}.")
        for site in sorted(sites):
            if re.search(rf"(?<![\w-]){re.escape(site)}(?![\w-])", text):
                problems.append(f"The public {where} names the site {site!r}.")
        for match in find_identifiers(text):
            problems.append(f"The public {where} holds a {match.label} ({match.masked}).")
        if QUOTED.search(text):
            problems.append(f"The public {where} holds a quotation; describe it instead of quoting.")
        words = [w.lower() for w in WORDS.findall(text)]
        if any(tuple(words[i : i + QUOTE_WORDS]) in phrases for i in range(len(words) - QUOTE_WORDS + 1)):
            problems.append(f"The public {where} repeats words of a transcript.")
    return problems
