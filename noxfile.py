"""The studykit template's sessions: `nox -l` lists them."""

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint"]

ROOT = Path(__file__).parent
STUDY = ROOT / "{{cookiecutter.project_slug}}"
LOCK = STUDY / "requirements.lock"
DEMO = ROOT / "demo-study"


def install(session: nox.Session, *groups: str) -> None:
    """The study's locked dependencies plus the template's dependency groups."""
    session.install("-r", str(LOCK))
    for group in groups:
        session.install("--group", group)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the template's tests: hooks, bakes, and the studykit package."""
    install(session, "test", "docs")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint hooks, tests, noxfiles and the studykit package with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Bake the example study into demo-study/, run what it offers there, and end with its report."""
    install(session, "test")
    if DEMO.exists():
        shutil.rmtree(DEMO)
    session.run(
        "cookiecutter", str(ROOT), "--no-input", "--output-dir", str(ROOT),
        "project_slug=demo-study",
    )
    session.install("--no-deps", "-e", str(DEMO))
    session.chdir(DEMO)
    session.run("studykit", "info")
    session.run("studykit", "validate", success_codes=[0, 1])
    session.run("pytest", "-q", "tests")
    session.run("studykit", "report")
    quarto = shutil.which("quarto") is not None
    report = DEMO / "reports" / ("_site" if quarto else "_preview") / "index.html"
    session.log(
        f"The example study is in {DEMO}. Next: cd demo-study, read README.md, and run `nox -s validate` "
        "there (or `python -m pip install -r requirements.lock -e .` for `studykit --help`)."
    )
    session.log(
        f"Its report: {report}" if quarto else
        f"Its report PREVIEW (Quarto was not found; install it for the report itself): {report}"
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Time validation at 1,000,000 rows (clean and messy) against frictionless and a bare polars read.

    `-- --report`: `studykit results` on the example and on it grown 100 times;
    `-- --deposit`: check-deposit fixity on a 1 GB bag beside bagit-python and sha256sum.
    """
    install(session)
    session.run("python", "benchmarks/bench.py", *session.posargs, env={"PYTHONPATH": str(STUDY / "src")})


@nox.session(default=False)
def fragments(session: nox.Session) -> None:
    """Regenerate the template's generated files: the example study under .bake/example/ (made by
    example/, which no study carries) and the datapackage fragments; tests fail when they drift."""
    install(session)
    session.run("python", "-m", "tests.regenerate", *session.posargs, env={"PYTHONPATH": str(STUDY / "src")})


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Re-create the study's requirements.lock from its pyproject.toml (bakes one to read it)."""
    session.install("uv", "cookiecutter")
    tmp = Path(session.create_tmp())
    session.run("cookiecutter", str(ROOT), "--no-input", "--overwrite-if-exists", "--output-dir", str(tmp),
                "project_slug=lock-study", "include_example_data=no")
    session.run("uv", "pip", "compile", str(tmp / "lock-study" / "pyproject.toml"), "-o", str(LOCK),
                "--quiet", "--python-version", "3.11", "--no-header", "--no-annotate")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with MkDocs, strictly (a warning is an error)."""
    install(session, "test", "docs")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), *session.posargs,
                env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(name="docs-capture", default=False)
def docs_capture(session: nox.Session) -> None:
    """Regenerate the docs' reference pages and rule catalogue from the code, and the terminal output
    they show from real runs in a baked example (the tutorial, the reference's examples, each rule's
    example finding, the study pages' console blocks), with the report browser test's screenshot;
    tests fail on drift."""
    install(session, "test", "docs")
    env = {"PYTHONPATH": f"{STUDY / 'src'}{os.pathsep}{ROOT}"}
    session.run("python", "-m", "docs.rule_examples", env=env)
    session.run("python", "-m", "docs.generate", env=env)
    session.run("pytest", "-q", "tests/package/test_report_browser.py", env=env, success_codes=[0, 1])
    session.run("python", "-m", "docs.capture", env=env)
