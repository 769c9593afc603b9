"""The documentation site's scripts: generate (reference pages), console, capture (outputs)."""
