"""Identifier detectors: what they find, what they leave alone, and how they mask."""

from __future__ import annotations

import phonenumbers
import pytest
from studykit.errors import QualitativeDataError
from studykit.qual.identifiers import (
    find_identifiers,
    mask,
    name_variants,
    nhs_checksum_ok,
    read_identity_key,
)

NAMES = ["Zelda Quorthwick", "Bartholomew Snee"]  # invented, obviously synthetic


def found(text: str, names=()) -> list[tuple[str, str]]:
    return [(m.kind, text[m.start : m.end]) for m in find_identifiers(text, names=names)]


def nhs_check_digit(nine: str) -> int:
    """Independent restatement of the published rule: 11 - (weighted sum mod 11), 11 -> 0."""
    total = 0
    for position, digit in enumerate(nine):
        total += int(digit) * (10 - position)
    return (11 - total % 11) % 11


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_valid_nhs_numbers_are_found(number):
    assert found(f"My NHS number is {number}.") == [("nhs_number", number)]


@pytest.mark.parametrize("number", ["9434765918", "943 476 5910", "1234567890"])
def test_nhs_numbers_failing_the_checksum_are_not(number):
    assert not nhs_checksum_ok(number.replace(" ", ""))
    assert ("nhs_number", number) not in found(f"Reference {number}.")


def test_nhs_checksum_matches_an_independent_computation():
    for nine in ("943476591", "401023213", "123456789", "000000000", "999999999"):
        digit = nhs_check_digit(nine)
        if digit == 10:
            assert not any(nhs_checksum_ok(nine + str(d)) for d in range(10))
        else:
            assert nhs_checksum_ok(nine + str(digit))
            assert not nhs_checksum_ok(nine + str((digit + 1) % 10))


@pytest.mark.parametrize(
    "number",
    [
        "07700 900123",  # Ofcom drama range: mobile-shaped, flagged even though unallocated
        "+44 7700 900123",
        "020 7946 0018",  # Ofcom drama range, London
        "0113 496 0000",  # Ofcom drama range, Leeds
        "+1 202 555 0143",
        "+33 1 23 45 67 89",
    ],
)
def test_phone_numbers_uk_and_international(number):
    assert found(f"Ring me on {number} tomorrow.") == [("phone", number)]


def test_uk_landline_is_valid_for_phonenumbers_too():
    parsed = phonenumbers.parse("020 7946 0018", "GB")
    assert phonenumbers.is_valid_number(parsed)


POSTCODES = ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "W1A 0AX", "GIR 0AA"]


@pytest.mark.parametrize("code", POSTCODES)
def test_postcodes_in_valid_formats(code):
    assert found(f"I live near {code} now.") == [("postcode", code)]


def test_postcode_lower_case_needs_the_space():
    assert found("we moved to sw1a 1aa last year") == [("postcode", "sw1a 1aa")]
    assert found("the code b12abc was on the form") == []


@pytest.mark.parametrize("near_miss", ["SW1A 1CI", "Q1 1AA", "SW1A1", "AB1 1AAA", "T1 2AB3"])
def test_postcode_near_misses_are_not_flagged(near_miss):
    assert not [k for k, _ in found(f"Code {near_miss} here.") if k == "postcode"]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("My date of birth 03/04/1985 is on file.", "03/04/1985"),
        ("I was born on 3 April 1985 in a small town.", "3 April 1985"),
        ("DOB: 1985-04-03.", "1985-04-03"),
        ("Born 3rd of April, 1985.", "3rd of April, 1985"),
        ("my birthday is April 3, 1985", "April 3, 1985"),
    ],
)
def test_dates_of_birth_need_a_cue(text, date):
    assert found(text) == [("date_of_birth", date)]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("**P004:** D.O.B.: 01/02/1980, if you need it for the form.", "01/02/1980"),
        ("**P004:** My D.O.B. is 1st of February 1980.", "1st of February 1980"),
        ("**P002:** I was born in March 1985, so I'm the oldest on the team.", "March 1985"),
        ("**P002:** Born in Sept. 1985 and raised in Leeds.", "Sept. 1985"),
        ("**P003:** My d.o.b 1/2/80 is on the referral letter.", "1/2/80"),
        ("**P003:** My birthday's 3 March 1979, the week after.", "3 March 1979"),
    ],
)
def test_dates_of_birth_with_dotted_cues_and_month_and_year(text, date):
    assert found(text) == [("date_of_birth", date)]


@pytest.mark.parametrize(
    "text",
    [
        "**INT:** So this is the T1 2nd interview, and we'll do T2 in the spring.",
        "**INT:** Thanks for coming to the T3 3rd session, and the W1 4th one before it.",
        "**P001:** I was born in the area and started in March 2019.",
        "**P001:** I was born and raised in Hull; I moved in June 2010.",
        "**P001:** We were born in different decades, I think, and I joined in 1985.",
    ],
)
def test_wave_ids_ordinals_and_dates_without_a_birth_cue_are_not_flagged(text):
    assert found(text) == []


@pytest.mark.parametrize("code", ["B1 1AA", "E1W 1AA", "G2 3DE", "L1 8JQ", "N1C 4AG", "S1 2HE", "W1 2ND"])
def test_postcodes_in_the_single_letter_areas(code):
    assert found(f"**P002:** The office is at {code}, near the station.") == [("postcode", code)]


def test_ordinary_dates_and_participant_ids_are_not_flagged():
    text = (
        "---\nid: INT-P001-T1\nwave: T1\ndate: 2024-02-05\nparticipants: [P001, FG012]\n---\n"
        "**INT:** We met on 05/02/2024, and again on 3 April 2024.\n\n"
        "**P001:** I scored 45 of 70 in wave T2; I was born in 1985. I started in 2019.\n"
    )
    assert found(text) == []


def test_emails():
    text = "Write to zelda.q+peer@example.org or B.Snee@mail.example.co.uk."
    assert found(text) == [("email", "zelda.q+peer@example.org"), ("email", "B.Snee@mail.example.co.uk")]


def test_urls_with_names_but_not_ordinary_links():
    text = (
        "See https://www.facebook.com/zelda.quorthwick and linkedin.com/in/x, "
        "https://example.org/team/quorthwick, https://www.nhs.uk/conditions/ and www.example.org/~bsnee."
    )
    assert found(text, NAMES) == [
        ("url", "https://www.facebook.com/zelda.quorthwick"),
        ("url", "https://example.org/team/quorthwick"),
        ("url", "www.example.org/~bsnee"),
    ]


def test_names_full_and_in_part():
    text = "Zelda Quorthwick told me. Later Zelda said Snee knew. Bartholomew\nSnee agreed."
    matches = find_identifiers(text, names=NAMES)
    assert [(text[m.start : m.end], m.certain, m.line) for m in matches] == [
        ("Zelda Quorthwick", True, 1),
        ("Zelda", False, 1),
        ("Snee", False, 1),
        ("Bartholomew\nSnee", True, 1),
    ]


def test_name_parts_ignore_short_tokens_and_inside_words():
    full = "Al Bo Quorthwick"
    assert name_variants([full]) == {full: full, "Quorthwick": full}
    assert found("Quorthwicks and unQuorthwick", ["Al Bo Quorthwick"]) == []


def test_overlaps_resolved_an_nhs_number_is_not_also_a_phone_number():
    assert found("NHS no. 943 476 5919") == [("nhs_number", "943 476 5919")]


def test_lines_count_from_first_line():
    text = "one\ntwo\nmail a@example.org\n"
    (match,) = find_identifiers(text, first_line=10)
    assert match.line == 12


def test_mask_shows_first_character_and_length_only():
    assert mask("jane.doe@example.org", "email") == "j***@*** (email, 20 chars)"
    assert mask("943 476 5919", "nhs_number") == "9*** (NHS number, 12 chars)"
    match = find_identifiers("contact: zelda@example.org")[0]
    assert match.masked == "z***@*** (email, 17 chars)"
    assert "example" not in match.masked


def test_read_identity_key(tmp_path):
    key = tmp_path / "key.csv"
    key.write_text("participant_id,name\nP001,Zelda Quorthwick\nP002,\n", encoding="utf-8")
    assert read_identity_key(key) == {"P001": "Zelda Quorthwick"}
    key.write_text("id,fullname\nP001,Zelda Quorthwick\n", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match="lacks the columns participant_id and name"):
        read_identity_key(key)
    with pytest.raises(QualitativeDataError, match="identity key not found"):
        read_identity_key(tmp_path / "absent.csv")
