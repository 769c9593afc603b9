"""``python -m studykit``: the same as the ``studykit`` command."""

from studykit.cli import main

main()
