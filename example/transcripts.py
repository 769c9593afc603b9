"""Transcript bodies from the example's words: interviews, focus groups and event notes.

The words are data (``data/interviews.yml``, ``focus-groups.yml``, ``event-notes.yml``);
they were written for studykit's example, quote no publication, name no real person,
place or organisation, and hold no identifiers (no emails, phone numbers, postcodes,
NHS numbers or birth dates), so the disclosure checks stay clean. This module puts
them in order and computes where each coded turn lies in the text.
"""

from __future__ import annotations

import random

from example import sources

Turn = tuple[str, str, str | None]  # speaker, words, code


def compose(turns: list[Turn]) -> tuple[str, list[tuple[int, int, str]]]:
    """A transcript body from (speaker, words, code) turns, and the code-point span of each coded turn.

    Spans cover the words after the ``**SPEAKER:**`` label, computed from the text as it is built.
    """
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    position = 0
    for speaker, words, code in turns:
        label = f"**{speaker}:** "
        if code:
            start = position + len(label)
            spans.append((start, start + len(words), code))
        paragraph = label + words
        parts.append(paragraph)
        position += len(paragraph) + 2  # the blank line between turns
    return "\n\n".join(parts) + "\n", spans


def _answer(code: str, rng: random.Random, used: set[tuple[str, int]]) -> str:
    """An answer for ``code`` this participant has not given before."""
    pool = sources.load("interviews")["answers"][code]
    fresh = [i for i in range(len(pool)) if (code, i) not in used]
    choice = rng.choice(fresh or list(range(len(pool))))
    used.add((code, choice))
    return pool[choice]


def interview(pid: str, wave: str, rng: random.Random, used: set[tuple[str, int]]) -> list[Turn]:
    """The turns of one interview: opening, five to seven topics (some probed), closing."""
    words = sources.load("interviews")
    opening = words["openings"][wave]
    turns: list[Turn] = [("INT", opening["question"], None), (pid, rng.choice(opening["replies"]), None)]
    # Five to seven of the wave's topics, in guide order, two to four of them probed: 19-27 turns.
    guide = words["topics"][wave]
    skipped = set(rng.sample(guide[1:], rng.randint(0, 2)))
    topics = [t for t in guide if t not in skipped]
    probed = set(rng.sample(topics, rng.randint(2, 4)))
    probes = words["probes"][:3] if wave == "T1" else words["probes"]
    for topic in topics:
        turns.append(("INT", words["questions"][topic]["first" if wave == "T1" else "later"], None))
        turns.append((pid, _answer(topic, rng, used), topic))
        if topic in probed:
            turns.append(("INT", rng.choice(probes), None))
            turns.append((pid, _answer(topic, rng, used), topic))
    turns += [
        ("INT", words["closing_question"], None),
        (pid, rng.choice(words["closings"]), None),
        ("INT", words["thanks"], None),
    ]
    return turns


def spoken(lines: list[dict], people: list[str]) -> list[Turn]:
    """Script lines as turns: a numbered speaker becomes that person's id (0 = the first)."""
    return [
        (
            line["speaker"] if isinstance(line["speaker"], str) else people[line["speaker"]],
            line["text"],
            line.get("code"),
        )
        for line in lines
    ]

