"""The cookiecutter hooks as plain functions: answers in, sentences or files out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hooks import post_gen_project as post
from hooks import pre_gen_project as pre

TEMPLATE = Path(__file__).resolve().parents[1]
LIBRARY = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__instrument_library"].split()
GOOD = {
    "study_title": "Peer Workforce Wellbeing Study",
    "project_slug": "peer-workforce-wellbeing-study",
    "contact_email": "team@example.org",
    "waves": "after training:0, 4 months:4, 12 months:12",
    "instruments": "wemwbs, cbi",
    "qualitative": "interviews, focus groups, event notes",
    "include_example_data": "yes",
}


def test_good_answers_pass():
    assert pre.collect_errors(GOOD, LIBRARY) == []


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("study_title", "   ", "study_title is empty"),
        ("project_slug", "Peer Study", "project_slug 'Peer Study' is not a valid folder name"),
        ("project_slug", "-peer", "not a valid folder name"),
        ("contact_email", "team-at-example.org", "contact_email 'team-at-example.org' is not an email"),
        ("waves", "baseline, 4 months:4", "waves entry 'baseline' is not 'label:months"),
        ("waves", "baseline:0, baseline:4", "repeat a label"),
        ("waves", "baseline:4, later:0", "increasing, distinct months"),
        ("instruments", "wemwbs, sf36", "'sf36' is not in the library"),
        ("instruments", "wemwbs, wemwbs", "names an instrument twice"),
        ("qualitative", "interviews, diaries", "'diaries' is not a strand"),
    ],
)
def test_bad_answer_is_one_sentence_naming_it(key, value, says):
    answers = {**GOOD, key: value, "include_example_data": "no"}
    errors = pre.collect_errors(answers, LIBRARY)
    assert len(errors) == 1
    assert says in errors[0]
    assert errors[0].rstrip().endswith((".", ")")), "each rejection is a full sentence"


def test_example_data_needs_the_example_design():
    errors = pre.collect_errors({**GOOD, "waves": "baseline:0, 6 months:6"}, LIBRARY)
    assert len(errors) == 1
    assert "answer 'no'" in errors[0]
    assert pre.collect_errors({**GOOD, "waves": "baseline:0, 6 months:6", "include_example_data": "no"},
                              LIBRARY) == []


def test_none_is_accepted_for_instruments_and_strands():
    answers = {**GOOD, "instruments": "none", "qualitative": "none", "include_example_data": "no"}
    assert pre.collect_errors(answers, LIBRARY) == []


def test_parse_waves_reads_labels_and_offsets():
    waves, errors = pre.parse_waves("after training:0, 4 months:4,12 months : 12")
    assert errors == []
    assert waves == [("after training", 0), ("4 months", 4), ("12 months", 12)]


def test_example_study_instruments_follow_the_chosen_ones():
    assert post.study_instruments(["wemwbs", "cbi"], include_example=True) == ["wemwbs", "cbi", "mjs", "team"]
    assert post.study_instruments(["phq9"], include_example=False) == ["phq9"]


def test_remove_unchosen_measures_deletes_only_those(tmp_path):
    measures = tmp_path / "data" / "measures"
    measures.mkdir(parents=True)
    for name in ("wemwbs", "cbi", "phq9"):
        (measures / f"{name}.csv").write_text("participant_id\n")
    (measures / "README.md").write_text("x")
    removed = post.remove_unchosen_measures(tmp_path, ["cbi"])
    assert sorted(p.name for p in removed) == ["phq9.csv", "wemwbs.csv"]
    assert sorted(p.name for p in measures.iterdir()) == ["README.md", "cbi.csv"]


def test_prune_qualitative_keeps_chosen_kinds(tmp_path):
    transcripts = tmp_path / "data" / "qualitative" / "transcripts"
    transcripts.mkdir(parents=True)
    for name, kind in (("P001-T1", "interview"), ("FG01", "focus group"), ("EV01", "event notes")):
        (transcripts / f"{name}.md").write_text(f"---\nid: {name}\nkind: {kind}\n---\ntext\n")
    post.prune_qualitative(tmp_path, ["interviews", "event notes"])
    assert sorted(p.stem for p in transcripts.iterdir()) == ["EV01", "P001-T1"]
    post.prune_qualitative(tmp_path, [])
    assert not (tmp_path / "data" / "qualitative").exists()


def test_post_gen_is_idempotent(tmp_path):
    (tmp_path / "data" / "measures").mkdir(parents=True)
    (tmp_path / "data" / "measures" / "cbi.csv").write_text("participant_id\n")
    post.main(tmp_path, "cbi", "none", include_example=False)
    first = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    post.main(tmp_path, "cbi", "none", include_example=False)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == first


def test_assemble_datapackage_orders_resources(tmp_path):
    bake = tmp_path / ".bake"
    (bake / "resources").mkdir(parents=True)
    (bake / "package.json").write_text('{"name": "s"}')
    for name in ("participants", "employment", "measures-cbi"):
        (bake / "resources" / f"{name}.json").write_text(json.dumps({"name": name}))
    names = post.resource_names(["cbi"], [])
    path = post.assemble_datapackage(tmp_path, names)
    assert [r["name"] for r in json.loads(path.read_text())["resources"]] == names


def test_example_defaults_match_cookiecutter_json():
    defaults = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert defaults["waves"] == pre.EXAMPLE_WAVES
    assert pre.split_list(defaults["instruments"]) == list(pre.EXAMPLE_INSTRUMENTS)


def test_example_question_comes_first_and_says_what_yes_fixes():
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert next(iter(config)) == "include_example_data"
    prompt = config["__prompts__"]["include_example_data"]
    assert "fixes the design" in prompt["__prompt__"]
    for label, _months in pre.parse_waves(pre.EXAMPLE_WAVES)[0]:
        assert label in prompt["yes"]
    assert all(name in prompt["yes"] for name in pre.EXAMPLE_INSTRUMENTS)
    assert "own design" in prompt["no"]


def test_example_conflict_is_reported_first():
    errors = pre.collect_errors({**GOOD, "study_title": "", "waves": "baseline:0, 6 months:6"}, LIBRARY)
    assert len(errors) == 2
    assert errors[0].startswith("include_example_data is 'yes' (the first question)")
    assert errors[1].startswith("study_title is empty")


def test_unused_private_keys_are_gone():
    """Every derived key in cookiecutter.json is read by a template file or a hook."""
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    used = " ".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in TEMPLATE.rglob("*")
        if p.is_file() and p.suffix in {".py", ".yml", ".toml", ".md", ".json", ".cfg"}
        and not {".git", ".nox", "demo-study"} & set(p.parts) and p.name != "cookiecutter.json"
    )
    derived = [k for k in config if k.startswith("__") and k != "__prompts__"]
    assert derived
    assert [k for k in derived if f"cookiecutter.{k}" not in used] == []


# --- the rules the hooks repeat are studykit's own (hooks cannot import studykit) ----------------


def _pattern(field_info) -> str:
    return next(m.pattern for m in field_info.metadata if getattr(m, "pattern", None))


def test_pre_gen_rules_equal_studykits_own():
    from typing import get_args

    from studykit.instruments import library_ids
    from studykit.qual.transcripts import KINDS
    from studykit.study import Identifier, Strand, Study

    assert pre.SLUG.pattern == _pattern(Study.model_fields["slug"])
    assert pre.EMAIL.pattern == _pattern(Study.model_fields["contact_email"])
    assert sorted(LIBRARY) == library_ids()
    identifier = re.compile(_pattern(get_args(Identifier)[1]))
    assert all(identifier.match(i) for i in LIBRARY), "every id the hook accepts is a valid study.yml id"
    assert get_args(Strand) == pre.STRANDS
    assert tuple(post.STRAND_KIND) == pre.STRANDS
    assert tuple(post.STRAND_KIND.values()) == KINDS


SLUGS = ["peer-study", "a1", "1a", "-a", "a-", "a--b", "Peer", "a_b", "été", "a" * 64]


@pytest.mark.parametrize("slug", SLUGS)
def test_slug_check_agrees_with_study_yml(slug):
    from pydantic import ValidationError
    from studykit.study import Study

    placeholder = {"title": "T", "principal_investigator": "P", "institution": "I",
                   "contact_email": "a@example.org", "licences": {"data": "CC0-1.0", "code": "MIT"},
                   "waves": [{"id": "T1", "label": "x", "offset_months": 0}], "archive": {"target": "OSF"}}
    try:
        Study.model_validate({**placeholder, "slug": slug})
        valid = True
    except ValidationError:
        valid = False
    assert (pre.check_slug(slug) == []) is valid


@pytest.mark.parametrize("hook", sorted((TEMPLATE / "hooks").glob("*.py")), ids=lambda p: p.name)
def test_hooks_use_the_standard_library_only_and_no_git_or_network(hook):
    """cruft re-runs hooks in temporary folders on every update: no git, no network, only the stdlib."""
    import ast
    import sys

    tree = ast.parse(hook.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert not imported & {"subprocess", "socket", "urllib", "http", "ftplib", "smtplib"}
    assert "git" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def test_template_version_is_the_vendored_studykit_version():
    from studykit import __version__

    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert config["__template_version"] == __version__, "bump both together (docs/template.md)"
