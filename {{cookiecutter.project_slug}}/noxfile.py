"""This study's sessions: `nox -l` lists them. Each is a thin wrapper over `studykit`."""

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["validate", "tests"]


def install(session: nox.Session, *groups: str) -> None:
    """Install the locked dependencies, this study's studykit, and any dependency groups."""
    session.install("-r", "requirements.lock")
    session.install("--no-deps", "-e", ".")
    for group in groups:
        session.install("--group", group)


@nox.session
def validate(session: nox.Session) -> None:
    """Check every data file, register and transcript; exit 1 on errors."""
    install(session)
    session.run("studykit", "validate", *session.posargs)


@nox.session(default=False)
def deposit(session: nox.Session) -> None:
    """Build deposit/<slug>-<version>-<tier>/ for the archive (refuses while validation has errors)."""
    install(session)
    session.run("studykit", "deposit", *session.posargs)


@nox.session(name="check-deposit", default=False)
def check_deposit(session: nox.Session) -> None:
    """Verify a deposit received from anyone: nox -s check-deposit -- PATH."""
    install(session)
    session.run("studykit", "check-deposit", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Run this study's own tests (data contracts and custom checks)."""
    install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def report(session: nox.Session) -> None:
    """Compute the results and render reports/ with Quarto (a labelled preview when Quarto is missing)."""
    install(session)
    session.run("studykit", "report", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the study's code with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py")


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Re-create requirements.lock from pyproject.toml (needs the package index)."""
    session.install("uv")
    session.run("uv", "pip", "compile", "pyproject.toml", "-o", "requirements.lock", "--quiet")
