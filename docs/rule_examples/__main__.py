"""``python -m docs.rule_examples [CODE ...]``: capture example findings and write the snippet.

With codes, it captures only those and prints them (for writing a break) without writing.
"""

from __future__ import annotations

import sys

from docs.rule_examples import SNIPPET, baked, capture, dumps, load_breaks


def main(argv: list[str]) -> int:
    from studykit.checks import load_rules

    with baked() as (example, work):
        examples = capture(example, work, argv or None)
    if argv:
        sys.stdout.write(dumps(examples))
        return 0
    missing = sorted(set(load_rules()) - set(load_breaks()))
    if missing:
        sys.stdout.write(f"no break yet for: {', '.join(missing)}\n")
    if not SNIPPET.is_file() or SNIPPET.read_text(encoding="utf-8") != dumps(examples):
        SNIPPET.write_text(dumps(examples), encoding="utf-8", newline="\n")
        sys.stdout.write(f"wrote {SNIPPET.name}\n")
    sys.stdout.write(f"{len(examples)} rule examples are up to date.\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
