"""The documentation site's scripts: generate (reference pages), console (console blocks), capture (outputs)."""
