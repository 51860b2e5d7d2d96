"""Issue 12, classes "answers become code" and "validation holes".

Every free-text answer is data in every file it lands in: a property test renders each stack
with hostile but acceptable text and parses every Python, TOML and YAML file, and reads the
value back where it belongs (pyproject, README, LICENSE). What no escape can carry is refused
by mlscaffold (exit 2, one line) and by copier.yml's validators for plain `copier copy`.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import copier
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from mlscaffold import scaffold, validate
from mlscaffold.errors import UsageError
from tests.safety import REPO_ROOT, new, one_line_error, snapshot

STACKS = {
    "tabular": {"task": "tabular-classification", "hardware": "cpu"},
    "hf-finetune": {"task": "text-classification", "hardware": "cpu"},
    "tf-tflite": {"task": "image-classification", "hardware": "mobile", "ci": "gitlab"},
    "torch-lightning": {"task": "image-classification", "hardware": "gpu"},
}
FREE_TEXT = ("description", "author_name", "author_email", "organization")

# Text a user may type: quotes, triple quotes, backslashes, Jinja, shell, Markdown, non-ASCII.
NASTY = [
    '"""; import os; os.system("id"); """',
    "ends with a backslash \\",
    "it's \"quoted\" 'twice'",
    "{{ 7 * 7 }} {% raw %} {#",
    "$(rm -rf ~); `id` | tee ${HOME}",
    "# not a heading *not bold* [not](a link) <b>no html</b> &amp;",
    "Zoë Ørsted — 数据 😀 \u00a0nbsp",
    "1. not a list",
    "<!-- not a comment --> ~~not struck~~ | not | a table |",
    "  padded with spaces  ",
    "x" * 1000,
]
printable = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs"),
        blacklist_characters="\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffe\uffff\x85",
    ),
    min_size=1,
    max_size=80,
)
answers_strategy = st.one_of(st.sampled_from(NASTY), printable)


def _markdown_text(readme: str) -> list[str]:
    """The text of each paragraph, as a reader sees it."""
    out = []
    for token in MarkdownIt().parse(readme):
        if token.type == "inline":
            out.append("".join(c.content for c in token.children or [] if c.type == "text"))
    return out


def _check_project(project: Path, answers: dict[str, str]) -> None:
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for path in project.rglob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["description"] == answers["description"]
    assert meta["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert all(recorded[key] == answers[key] for key in FREE_TEXT)
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert answers["description"].strip() in _markdown_text(readme)
    assert answers["organization"].strip() in (project / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("stack", list(STACKS))
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    description=answers_strategy,
    author=answers_strategy,
    email=answers_strategy,
    org=answers_strategy,
)
def test_free_text_is_data_in_every_file(
    tmp_path_factory, stack, description, author, email, org
) -> None:
    answers = {
        "description": description,
        "author_name": author[:200],  # the limits of validate.FREE_TEXT
        "author_email": email[:200],
        "organization": org[:200] if org.strip() else "Org",
    }
    dest = tmp_path_factory.mktemp("p") / "demo"
    scaffold.render(dest, {"project_name": "demo", "stack": stack, **STACKS[stack], **answers})
    _check_project(dest, answers)


@pytest.mark.parametrize("text", NASTY)
def test_each_nasty_string_renders_the_tabular_project(tmp_path, text) -> None:
    short = text[:200]
    answers = {
        "description": text,
        "author_name": short,
        "author_email": short,
        "organization": short,
    }
    dest = tmp_path / "demo"
    scaffold.render(dest, {"project_name": "demo", **STACKS["tabular"], **answers})
    _check_project(dest, answers)
    init = dest / "src" / "demo" / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text())).startswith("demo:")


# -d KEY=VALUE (or flags) that must be refused: args, text in the one-line error
REFUSED = {
    "project name with a trailing newline": (["-d", "project_name=abc\n"], "invalid project name"),
    "package name with a trailing newline": (["-d", "package_name=abc\n"], "invalid package name"),
    "description with a newline": (["-d", "description=one\ntwo"], "one line"),
    "description with NUL": (["-d", "description=a\x00b"], "U+0000"),
    "description with a bidi override": (["-d", "description=abc\u202edcba"], "U+202E"),
    "description too long": (["-d", "description=" + "x" * 1001], "limit is 1000"),
    "author with a carriage return": (["-d", "author_name=Ada\rLovelace"], "one line"),
    "organization with an escape character": (["-d", "organization=\x1b[31mred"], "U+001B"),
    "package index with a quote": (["-d", 'package_index=https://x.org/"a'], "package_index"),
    "package index with a newline": (["-d", "package_index=https://x.org/\nb"], "one line"),
    "package index with braces": (["-d", "package_index=https://x/${{ secrets.T }}"], "braces"),
    "package index not http": (["-d", "package_index=file:///etc"], "package_index"),
    "boolean that is not a boolean": (
        ["--task", "text-classification", "-d", "push_to_hub=nope"],
        "true or false",
    ),
    "flag and data disagree on task": (
        ["--task", "tabular-regression", "-d", "task=tabular-classification"],
        "disagree",
    ),
    "flag and data disagree on stack": (
        ["--stack", "tabular", "-d", "stack=hf-finetune"],
        "disagree",
    ),
    "private Copier key _src_path": (["-d", "_src_path=/tmp/evil"], "bookkeeping"),
    "private Copier key _commit": (["-d", "_commit=v9"], "bookkeeping"),
    "copyright year with a newline": (["-d", "copyright_year=2026\n"], "copyright_year"),
    "base model with a newline": (
        ["--task", "text-classification", "-d", "base_model=x/y\n"],
        "base_model",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_answers(tmp_path: Path, case: str) -> None:
    args, text = REFUSED[case]
    result = new(str(tmp_path / "demo"), "-y", *args)
    assert result.exit_code == 2, result.output
    assert text in one_line_error(result)
    assert snapshot(tmp_path) == {}


def test_booleans_and_agreeing_flags_are_accepted(tmp_path: Path) -> None:
    from mlscaffold import generate

    given = {"task": "text-classification", "hardware": "cpu", "goal": None, "data_size": None}
    plan = generate.plan(
        tmp_path / "demo", given, data={"push_to_hub": "False", "task": "text-classification"}
    )
    assert plan.data["push_to_hub"] is False
    generate.check_flags_agree({"task": "tabular-regression"}, {"task": "tabular-regression"})


def test_package_index_lands_as_one_exact_value_in_both_ci_files(tmp_path: Path) -> None:
    url = "https://pypi.example.org/simple/?a=1&b=$HOME#x"
    for ci, key in (("github", None), ("gitlab", "variables")):
        dest = tmp_path / ci
        scaffold.render(dest, {"project_name": "demo", "ci": ci, "package_index": url})
        if ci == "github":
            doc = yaml.safe_load((dest / ".github" / "workflows" / "ci.yml").read_text())
            assert doc["jobs"]["test"]["env"]["PIP_INDEX_URL"] == url
        else:
            doc = yaml.safe_load((dest / ".gitlab-ci.yml").read_text())
            assert doc[key]["PIP_INDEX_URL"] == url.replace("$", "$$")  # GitLab's literal $


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("description", "a\nb"),
        ("description", "bell\x07"),
        ("author_name", "rtl\u202e"),
        ("organization", "x" * 201),
        ("package_index", 'https://x/"'),
        ("project_name", "abc\n"),
    ],
)
def test_plain_copier_refuses_the_same_answers(tmp_path: Path, key: str, value: str) -> None:
    """copier.yml's validators hold the rules of validate.py for users without mlscaffold."""
    with pytest.raises(UsageError):
        validate.coerce_answers({key: value}, {})
        if key == "project_name":
            from mlscaffold import names

            names.check_project_name(value)
    with scaffold.plain_template(REPO_ROOT) as template, pytest.raises(ValueError):
        copier.run_copy(
            str(template),
            tmp_path / "plain",
            data={"project_name": "demo", key: value},
            defaults=True,
            quiet=True,
        )
