"""Cookiecutter hooks, importable so tests can call their functions directly."""
