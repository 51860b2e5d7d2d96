"""copier.yml reaches the same stack as the CLI: generated from the same data, and checked."""

from __future__ import annotations

import jinja2
import pytest
import yaml

from mlscaffold import codegen, names, rules
from tests.conftest import REPO_ROOT

QUESTIONS = yaml.safe_load((REPO_ROOT / "templates/_questions/rules.yml").read_text())
NAME_QUESTIONS = yaml.safe_load((REPO_ROOT / "templates/_questions/project.yml").read_text())
ENV = jinja2.Environment()
ENV.filters["regex_search"] = lambda value, pattern: __import__("re").search(pattern, value)


def render(expression: str, **context: str) -> str:
    return ENV.from_string(expression).render(**context).strip()


def test_generated_questions_are_current():
    for path, text in codegen.outputs(REPO_ROOT).items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: python -m mlscaffold.codegen"
        )


@pytest.mark.parametrize("answers", rules.answer_grid(), ids=lambda a: "/".join(a.values()))
def test_copier_stack_default_agrees_with_the_rules(answers):
    stack = render(QUESTIONS["stack"]["default"], **answers)
    try:
        rec = rules.recommend(**answers)
    except rules.RefusedError as exc:
        assert stack == ""
        message = render(QUESTIONS["data_size"]["validator"], **answers)
        assert message == str(exc)
        return
    assert render(QUESTIONS["data_size"]["validator"], **answers) == ""
    assert stack == rec.stack
    assert render(QUESTIONS["stack"]["validator"], stack=stack, **answers) == ""
    for option, value in rec.options.items():
        assert render(QUESTIONS[option]["default"], stack=stack, **answers) == value


def test_copier_validator_refuses_a_stack_that_cannot_serve_the_task():
    message = render(
        QUESTIONS["stack"]["validator"],
        stack="tabular",
        task="text-classification",
        hardware="cpu",
        goal="prototype",
        data_size="small",
    )
    assert message.startswith("tabular does not generate text-classification")


NAMES = [
    "demo",
    "my_model",
    "churn2",
    "json",
    "torch",
    "class",
    "src",
    "tests",
    "Demo",
    "2fast",
    "a",
    "ab",
    "my-model",
    "x__y",
    "pandas",
    "os",
    "asyncio",
    "none",
    "match",
    "_private",
]


@pytest.mark.parametrize("name", NAMES)
def test_package_name_checks_agree_with_copier(name):
    try:
        names.check_package_name(name)
        python_ok = True
    except Exception:
        python_ok = False
    jinja_message = render(NAME_QUESTIONS["package_name"]["validator"], package_name=name)
    assert python_ok == (jinja_message == ""), jinja_message
