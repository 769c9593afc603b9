"""Reject bad answers before cookiecutter writes anything.

Standard library only: this runs with cookiecutter's Python, not the study's.
Every check is a small pure function returning a list of sentences; an empty
list means the answer is fine. Jinja literals appear only under ``__main__``.
"""

from __future__ import annotations

import re
import sys

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
STRANDS = ("interviews", "focus groups", "event notes")
EXAMPLE_WAVES = "after training:0, 4 months:4, 12 months:12"
EXAMPLE_INSTRUMENTS = ("wemwbs", "cbi")


def split_list(text: str) -> list[str]:
    """Split a comma-separated answer into trimmed, lower-case items."""
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def check_title(title: str) -> list[str]:
    if not title.strip():
        return ["study_title is empty: type the study's title, e.g. 'Peer Workforce Wellbeing Study'."]
    return []


def check_slug(slug: str) -> list[str]:
    if not SLUG.match(slug) or len(slug) > 64:
        return [
            f"project_slug {slug!r} is not a valid folder name: use lowercase letters, digits and "
            "single hyphens, starting with a letter (at most 64 characters), e.g. 'peer-workforce-study'."
        ]
    return []


def check_email(email: str) -> list[str]:
    if not EMAIL.match(email.strip()):
        return [f"contact_email {email!r} is not an email address: type one like 'study-team@example.org'."]
    return []


def parse_waves(text: str) -> tuple[list[tuple[str, int]], list[str]]:
    """Parse 'label:months, label:months' into (label, offset) pairs, with errors."""
    waves: list[tuple[str, int]] = []
    errors: list[str] = []
    example = f"type waves like {EXAMPLE_WAVES!r}"
    for part in [p.strip() for p in text.split(",")]:
        label, sep, months = part.rpartition(":")
        label = label.strip()
        if not part or not sep or not label or not months.strip().isdigit():
            errors.append(f"waves entry {part!r} is not 'label:months after enrolment': {example}.")
            continue
        waves.append((label, int(months)))
    labels = [label.lower() for label, _ in waves]
    offsets = [offset for _, offset in waves]
    if len(set(labels)) != len(labels):
        errors.append(f"waves {text!r} repeat a label: give each wave its own name, {example}.")
    if offsets != sorted(set(offsets)):
        errors.append(f"waves {text!r} must have increasing, distinct months: {example}.")
    if not waves and not errors:
        errors.append(f"waves is empty: {example}.")
    return waves, errors


def check_instruments(text: str, library: list[str]) -> list[str]:
    chosen = split_list(text)
    if chosen == ["none"]:
        return []
    errors = [
        f"instruments: {name!r} is not in the library; choose from {', '.join(library)} (or type 'none')."
        for name in chosen
        if name not in library
    ]
    if len(set(chosen)) != len(chosen):
        errors.append(f"instruments {text!r} names an instrument twice: list each once.")
    return errors


def check_qualitative(text: str) -> list[str]:
    chosen = split_list(text)
    if chosen == ["none"]:
        return []
    return [
        f"qualitative: {name!r} is not a strand; "
        f"type any of {', '.join(STRANDS)} (comma-separated), or 'none'."
        for name in chosen or [""]
        if name not in STRANDS
    ]


def check_example(include: str, waves: str, instruments: str) -> list[str]:
    """The example data fit one design; refuse to mix them with another."""
    if include != "yes":
        return []
    same_waves = parse_waves(waves)[0] == parse_waves(EXAMPLE_WAVES)[0]
    has_instruments = set(EXAMPLE_INSTRUMENTS) <= set(split_list(instruments))
    if same_waves and has_instruments:
        return []
    return [
        "include_example_data is 'yes' (the first question) but the example study needs waves "
        f"{EXAMPLE_WAVES!r} and instruments including {', '.join(EXAMPLE_INSTRUMENTS)}: "
        "keep those answers, or answer 'no' to start with empty data files for your own design."
    ]


def collect_errors(answers: dict[str, str], library: list[str]) -> list[str]:
    """Every problem with the answers, in prompt order (the example question comes first)."""
    return [
        *check_example(answers["include_example_data"], answers["waves"], answers["instruments"]),
        *check_title(answers["study_title"]),
        *check_slug(answers["project_slug"]),
        *check_email(answers["contact_email"]),
        *parse_waves(answers["waves"])[1],
        *check_instruments(answers["instruments"], library),
        *check_qualitative(answers["qualitative"]),
    ]


def main(answers: dict[str, str], library: list[str]) -> int:
    errors = collect_errors(answers, library)
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    if errors:
        print("Nothing was written. Run cookiecutter again with corrected answers.", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(
        main(
            {
                "study_title": {{ cookiecutter.study_title | tojson }},
                "project_slug": {{ cookiecutter.project_slug | tojson }},
                "contact_email": {{ cookiecutter.contact_email | tojson }},
                "waves": {{ cookiecutter.waves | tojson }},
                "instruments": {{ cookiecutter.instruments | tojson }},
                "qualitative": {{ cookiecutter.qualitative | tojson }},
                "include_example_data": {{ cookiecutter.include_example_data | tojson }},
            },
            {{ cookiecutter.__instrument_library | tojson }}.split(),
        )
    )
