"""Keep a study up to date with its template: what it was made from, ``check``, ``link``, ``update``.

A study records its answers and the template version: ``.cruft.json`` when it was made with
``cruft create`` (answers, template address and commit), ``.cookiecutter.json`` always
(answers and ``_template_version``, never a local path). ``update`` wraps ``cruft update`` and
then looks for what cruft reports as success but is not: conflict markers and ``*.rej`` files.
Nothing here commits; the team reviews the change and commits it.

git and cruft run as subprocesses (cruft with this Python), never prompting: no input, and
``GIT_TERMINAL_PROMPT=0`` so an unreachable private template fails instead of waiting for a
password. A question the newer template adds takes its default answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from studykit.errors import MissingToolError, StudykitError

CRUFT_FILE = ".cruft.json"
ANSWERS_FILE = ".cookiecutter.json"
VERSION_KEY = "__template_version"
RECORDED_VERSION_KEY = "_template_version"
CONFLICT_MARKER = "leftover conflict marker"
TIMEOUT = 600
# Template addresses that mean the same on every computer (as .cookiecutter.json's template filters).
URL_PREFIXES = ("https://", "http://", "ssh://", "git@", "gh:", "gl:", "bb:")
# Folders no update writes into and no search needs to enter.
NOT_SEARCHED = {".git", ".nox", ".venv", "node_modules", "__pycache__"}

State = Literal["current", "outdated", "unknown"]


class TemplateError(StudykitError):
    """The template could not be reached or read, or the study cannot take an update now."""


# --- what the study recorded ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What a study says about the template it was made from."""

    answers: dict[str, object]
    template: str | None = None  # where the template lives (git URL or path), if recorded
    commit: str | None = None  # the template commit (cruft studies only)
    version: str | None = None  # the template version (``__template_version``)
    linked: bool = False  # True when .cruft.json exists
    checkout: str | None = None  # the branch or tag the study follows (cruft's ``checkout``), if any


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"cannot be read as JSON ({exc})"
        raise TemplateError(msg, path=path.name, fix="Restore it from git (`git checkout -- FILE`).") from exc
    if not isinstance(data, dict):
        msg = "is not a JSON object"
        raise TemplateError(msg, path=path.name, fix="Restore it from git (`git checkout -- FILE`).")
    return data


def is_local_address(template: str) -> bool:
    """A template recorded as a folder on one computer (meaningless elsewhere; it can name a home folder)."""
    return not template.startswith(URL_PREFIXES)


def public_answers(context: dict[str, object]) -> dict[str, object]:
    """The answers a person gave (keys without a leading ``_``)."""
    return {k: v for k, v in context.items() if not k.startswith("_")}


def recorded(root: Path) -> Recorded | None:
    """The recorded answers and template version, or ``None`` when the study recorded none."""
    cruft_file, answers_file = root / CRUFT_FILE, root / ANSWERS_FILE
    if cruft_file.is_file():
        state = _read_json(cruft_file)
        context = state.get("context", {})
        context = context.get("cookiecutter", {}) if isinstance(context, dict) else {}
        return Recorded(
            answers=public_answers(context), template=state.get("template") or None,
            commit=state.get("commit") or None, version=context.get(VERSION_KEY), linked=True,
            checkout=str(state["checkout"]) if state.get("checkout") else None,
        )  # fmt: skip
    if answers_file.is_file():
        answers = _read_json(answers_file)
        return Recorded(
            answers=public_answers(answers), template=answers.get("_template") or None,
            version=answers.get(RECORDED_VERSION_KEY),
        )  # fmt: skip
    return None


# --- git ------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
            check=False, timeout=TIMEOUT,
        )  # fmt: skip
    except FileNotFoundError as exc:
        msg = "git is not installed"
        raise MissingToolError(msg, fix="Install git (https://git-scm.com), then run it again.") from exc
    if check and done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        msg = f"git {args[0]} failed: {said}"
        raise TemplateError(msg)
    return done


@dataclass(frozen=True)
class TemplateClone:
    """A throwaway clone of the template (no checkout), to read commits and versions."""

    path: Path
    source: str

    def commit(self, ref: str | None = None) -> str | None:
        """The commit ``ref`` names (default the default branch); a branch other than the default
        one is found among the clone's remote branches, as cruft finds it."""
        for name in (ref or "HEAD", *([f"origin/{ref}"] if ref else [])):
            done = _git(self.path, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
            if done.stdout.strip():
                return done.stdout.strip()
        return None

    def version(self, commit: str) -> str | None:
        done = _git(self.path, "show", f"{commit}:cookiecutter.json", check=False)
        try:
            value = json.loads(done.stdout).get(VERSION_KEY) if done.returncode == 0 else None
        except json.JSONDecodeError:
            return None
        return str(value) if value is not None else None

    def same_tree(self, one: str, other: str) -> bool:
        return _git(self.path, "diff", "--quiet", one, other, check=False).returncode == 0

    def release_commit(self, version: str) -> str | None:
        """The commit a version was made from: its tag (``v0.2.0`` or ``0.2.0``), else the oldest
        commit whose cookiecutter.json carries that version (an older base only repeats changes,
        which show as conflicts; a newer one would drop changes silently)."""
        for tag in (f"v{version}", version):
            commit = self.commit(f"refs/tags/{tag}")
            if commit:
                return commit
        log = _git(self.path, "log", "--format=%H", "--reverse", "HEAD", "--", "cookiecutter.json")
        return next((c for c in log.stdout.split() if self.version(c) == version), None)


def clone_template(source: str, into: Path) -> TemplateClone:
    """Clone the template's history (no files checked out); a sentence when it cannot be reached."""
    target = into / "template"
    done = _git(into, "clone", "--quiet", "--no-checkout", source, str(target), check=False)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        msg = f"the template at {source} could not be reached ({said})"
        raise TemplateError(
            msg, fix="Check the address and your network, or pass --template with a local clone."
        )
    return TemplateClone(target, source)


# --- check ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateStatus:
    """Is the study on the newest template? ``sentence`` says so in one line."""

    state: State
    sentence: str
    template: str | None = None
    study_commit: str | None = None
    study_version: str | None = None
    newest_commit: str | None = None
    newest_version: str | None = None

    @property
    def exit_code(self) -> int:
        return {"current": 0, "outdated": 1, "unknown": 2}[self.state]

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state, "sentence": self.sentence, "exit_code": self.exit_code,
            "template": self.template, "study_commit": self.study_commit,
            "study_version": self.study_version, "newest_commit": self.newest_commit,
            "newest_version": self.newest_version,
        }  # fmt: skip


def _at(version: str | None, commit: str | None) -> str:
    short = f"commit {commit[:10]}" if commit else "an unknown commit"
    return f"version {version} ({short})" if version else short


def _source(rec: Recorded, template: str | None) -> str | None:
    return str(template) if template else rec.template


def check(root: Path, *, template: str | None = None, ref: str | None = None) -> TemplateStatus:
    """Compare the study's template commit with the newest one (``ref``; by default the branch or tag
    the study follows, as ``.cruft.json``'s ``checkout`` records it, which ``template update`` takes
    too; else the default branch).

    ``template`` reads the template from elsewhere (a local clone) for this run only.
    """
    rec = recorded(root)
    if rec is None:
        return TemplateStatus(
            "unknown",
            f"Cannot tell: the study records no answers ({CRUFT_FILE} or {ANSWERS_FILE} is missing); "
            "see docs/updating.md to record them.",
        )  # fmt: skip
    source = _source(rec, template)
    ref = ref or rec.checkout
    if source is None:
        return TemplateStatus(
            "unknown", f"Cannot tell: {ANSWERS_FILE} does not say where the template lives; "
            "run again with --template URL.", study_version=rec.version,
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="studykit-template-") as tmp:
        try:
            clone = clone_template(source, Path(tmp))
        except TemplateError as exc:
            return TemplateStatus("unknown", f"Cannot tell: {exc.sentence()}", template=source)
        newest = clone.commit(ref)
        if newest is None:
            sentence = f"Cannot tell: the template has no {ref or 'HEAD'} to compare with."
            return TemplateStatus("unknown", sentence, template=source)
        base = rec.commit if rec.linked else (clone.release_commit(rec.version) if rec.version else None)
        facts = {
            "template": source, "study_commit": base, "study_version": rec.version,
            "newest_commit": newest, "newest_version": clone.version(newest),
        }  # fmt: skip
        if base is None or clone.commit(base) is None:
            what = f"version {rec.version}" if rec.version and not rec.linked else f"commit {base}"
            return TemplateStatus(
                "unknown", f"Cannot tell: the template's history has no {what}, which this study records.",
                **facts,
            )  # fmt: skip
        if base == newest or clone.same_tree(base, newest):
            sentence = f"The study is on the newest template, {_at(facts['newest_version'], newest)}."
            return TemplateStatus("current", sentence, **facts)
        sentence = (
            f"A newer template is available: {_at(facts['newest_version'], newest)}; the study is on "
            f"{_at(clone.version(base) or rec.version, base)}. Run `studykit template update` to take it."
        )
        return TemplateStatus("outdated", sentence, **facts)


# --- cruft ----------------------------------------------------------------------------------------


def _cruft(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        import cruft  # noqa: F401
    except ImportError as exc:
        msg = "cruft is not installed"
        raise MissingToolError(
            msg, fix="Install the study's dependencies: python -m pip install -r requirements.lock."
        ) from exc
    return subprocess.run(
        [sys.executable, "-m", "cruft", *args], cwd=root, env=_env(), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, check=False, timeout=TIMEOUT,
    )  # fmt: skip


def _cruft_failed(done: subprocess.CompletedProcess[str], what: str) -> TemplateError:
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    msg = f"cruft {what} failed: {lines[-1].strip() if lines else 'no message'}"
    return TemplateError(msg)


def link(root: Path, *, template: str | None = None) -> Path:
    """Write ``.cruft.json`` for a study made with plain cookiecutter, from its recorded answers.

    The answers come from ``.cookiecutter.json`` (never the template's defaults) and the commit
    from the recorded template version. Returns the new ``.cruft.json``.
    """
    rec = recorded(root)
    if rec is None or rec.linked:
        msg = f"{CRUFT_FILE} exists already" if rec else f"the study records no answers ({ANSWERS_FILE})"
        raise TemplateError(msg, fix="Only a study made with plain cookiecutter is linked, once.")
    source = _source(rec, template)
    if source is None or rec.version is None:
        missing = "where the template lives" if source is None else "the template version"
        msg = f"{ANSWERS_FILE} does not record {missing}"
        raise TemplateError(msg, fix="Pass --template with the template's git URL or a local clone.")
    with tempfile.TemporaryDirectory(prefix="studykit-template-") as tmp:
        base = clone_template(source, Path(tmp)).release_commit(rec.version)
    if base is None:
        msg = f"the template at {source} has no version {rec.version}, which {ANSWERS_FILE} records"
        raise TemplateError(msg, fix="Pass --template with the template this study was made from.")
    done = _cruft(
        root, "link", source, "--no-input", "--checkout", base, "--extra-context", json.dumps(rec.answers)
    )
    if done.returncode != 0:
        raise _cruft_failed(done, "link")
    cruft_file = root / CRUFT_FILE
    state = json.loads(cruft_file.read_text(encoding="utf-8"))
    # Follow the default branch from now on; keep the recorded URL over a local clone's path.
    state["checkout"] = None
    state["template"] = rec.template or source
    cruft_file.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return cruft_file


# --- update ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A file the update could not merge, and what to do about it."""

    file: str
    kind: Literal["markers", "rejected"]

    @property
    def fix(self) -> str:
        if self.kind == "markers":
            return (
                f"Edit {self.file}: between <<<<<<< and >>>>>>> keep the lines you want, delete the three "
                f"marker lines, then `git add {self.file}`."
            )
        target = self.file.removesuffix(".rej")
        return f"Apply the hunks in {self.file} to {target} by hand, then delete {self.file}."

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "kind": self.kind, "fix": self.fix}


@dataclass(frozen=True)
class UpdateResult:
    """What ``update`` changed, and the conflicts it left for a person."""

    changed: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    linked: bool = False
    from_commit: str | None = None
    to_commit: str | None = None
    to_version: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.conflicts else 0

    @property
    def sentence(self) -> str:
        if self.conflicts:
            return (
                f"The update left {len(self.conflicts)} conflicted file(s): resolve each as said, run "
                "`git diff --check`, then commit (or undo the whole update with `git reset --hard` "
                "and delete any .rej file)."
            )
        if not self.changed:
            return "Nothing to do: the study is on the newest template."
        return (
            f"Updated to template {_at(self.to_version, self.to_commit)}: {len(self.changed)} file(s) "
            "changed and not committed. Review with `git diff HEAD`, run `studykit package sync`, "
            "`studykit validate` and the tests, then commit."
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "changed": self.changed, "conflicts": [c.to_dict() for c in self.conflicts],
            "linked": self.linked, "from_commit": self.from_commit, "to_commit": self.to_commit,
            "to_version": self.to_version, "sentence": self.sentence, "exit_code": self.exit_code,
        }  # fmt: skip


def _status_paths(root: Path) -> list[str]:
    """Files that differ from HEAD or are untracked, as ``git status`` names them."""
    done = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", ".")
    entries = [e for e in done.stdout.split("\0") if e]
    paths: list[str] = []
    skip_next = False
    for entry in entries:
        if skip_next:  # the source of a rename
            skip_next = False
            continue
        paths.append(entry[3:])
        skip_next = entry[0] in "RC"
    return sorted(set(paths))


def require_clean(root: Path) -> None:
    """Refuse a folder outside git or with uncommitted changes (an update must be undoable)."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if inside.stdout.strip() != "true":
        msg = "the study is not a git repository, so an update could not be reviewed or undone"
        raise TemplateError(msg, fix="Run `git init`, commit everything, then update.")
    dirty = _status_paths(root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        msg = f"the working tree has uncommitted changes ({shown})"
        raise TemplateError(msg, fix="Commit or stash them first, so the update can be reviewed on its own.")


def leftover_conflicts(root: Path) -> list[Conflict]:
    """Conflict markers (staged or not, as ``git diff --check`` reports them) and ``*.rej`` files."""
    marked: set[str] = set()
    for staged in ((), ("--cached",)):
        done = _git(root, "diff", *staged, "--check", "--relative", check=False)
        for line in done.stdout.splitlines():
            if CONFLICT_MARKER in line:
                marked.add(line.split(":", 1)[0])
    unmerged = _git(root, "diff", "--name-only", "--diff-filter=U", "--relative", check=False)
    marked.update(line for line in unmerged.stdout.splitlines() if line)
    conflicts = [Conflict(path, "markers") for path in sorted(marked)]
    rejected = sorted(
        p.relative_to(root).as_posix() for p in _walk(root) if p.suffix == ".rej" and p.is_file()
    )
    return conflicts + [Conflict(path, "rejected") for path in rejected]


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in NOT_SEARCHED]
        found += [Path(folder) / name for name in files]
    return found


def update(root: Path, *, to: str | None = None, template: str | None = None) -> UpdateResult:
    """Apply the template's changes since the study's commit (to ``to``; by default the newest commit
    of the branch or tag the study follows, ``.cruft.json``'s ``checkout``, else of the default
    branch); never commit. cruft itself would take the default branch and forget the recorded
    ``checkout``, so it is passed on.

    A study made with plain cookiecutter is linked first from its recorded answers.
    """
    root = root.resolve()
    require_clean(root)
    linked = False
    if not (root / CRUFT_FILE).is_file():
        if recorded(root) is None:
            msg = f"the study records no answers ({CRUFT_FILE} or {ANSWERS_FILE})"
            raise TemplateError(msg, fix="See docs/updating.md, 'A study without recorded answers'.")
        link(root, template=template)
        linked = True
    before = recorded(root)
    to = to or (before.checkout if before else None)
    args = ["update", "--project-dir", str(root), "--skip-apply-ask"]
    if to:
        args += ["--checkout", to]
    if template:
        args += ["--template-path", str(template)]
    if linked:
        args.append("--allow-untracked-files")  # the .cruft.json just written
    done = _cruft(root, *args)
    if done.returncode != 0:
        if linked:  # leave the study as it was, so the next try starts clean
            (root / CRUFT_FILE).unlink()
        raise _cruft_failed(done, "update")
    after = recorded(root)
    return UpdateResult(
        changed=_status_paths(root), conflicts=leftover_conflicts(root), linked=linked,
        from_commit=before.commit if before else None, to_commit=after.commit if after else None,
        to_version=after.version if after else None,
    )  # fmt: skip
