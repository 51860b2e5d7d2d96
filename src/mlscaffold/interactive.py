"""`mlscaffold new` on a terminal: two questions, one summary screen, change what you like.

Only task and hardware are always asked; goal and data size only when they change the
recommendation. Every other answer is shown on one screen with its default (author and
e-mail from `git config`), and the user accepts it all with Enter or names what to change.
One prompt style throughout: Copier's own prompts never appear (it renders with every answer
given).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import typer

from mlscaffold import generate, rules, scaffold
from mlscaffold.errors import UsageError

ACCEPT_PROMPT = "Enter accepts; or type an answer's name to change it"


def identity_defaults(template: str | None) -> dict[str, str]:
    """git_identity() for the answers the template asks (a foreign template may not)."""
    local = scaffold.bundled_template() if template is None else Path(template)
    if not (local / "copier.yml").is_file():
        return {}
    asked = scaffold.questions(local)
    return {key: value for key, value in git_identity().items() if key in asked}


def git_identity() -> dict[str, str]:
    """author_name/author_email from `git config` (what copier-uv and cookie propose)."""
    found: dict[str, str] = {}
    for key, setting in (("author_name", "user.name"), ("author_email", "user.email")):
        try:
            value = subprocess.run(
                ["git", "config", "--get", setting], capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if value:
            found[key] = value
    return found


def ask_menu(name: str, values: list[str], default: str) -> str:
    """A numbered menu: type the number or the value; Enter keeps the default."""
    typer.echo(f"{name.replace('_', ' ')}:")
    for number, value in enumerate(values, 1):
        typer.echo(f"  {number}) {value}")
    start = str(values.index(default) + 1) if default in values else None
    while True:
        reply = typer.prompt("choose", default=start).strip()
        if reply.isdigit() and 1 <= int(reply) <= len(values):
            return values[int(reply) - 1]
        if reply in values:
            return reply
        typer.echo(f"  please type 1-{len(values)} or one of the names above")


def changes_outcome(key: str, given: dict[str, str | None]) -> bool:
    """Whether the rules reach another stack or options for some value of `key`."""
    outcomes = set()
    for value in rules.answer_values()[key]:
        try:
            rec = rules.recommend(**{**given, key: value})
        except (rules.RefusedError, rules.UnknownValueError):
            outcomes.add(("refused",))
            continue
        outcomes.add((rec.stack, tuple(sorted(rec.options.items()))))
    return len(outcomes) > 1


def _render(env: Any, text: Any, context: dict[str, Any]) -> Any:
    if isinstance(text, str) and ("{{" in text or "{%" in text):
        return env.from_string(text).render(context)
    return text


def resolve(questions: dict[str, dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """Every question that applies to these answers, with its value (given, else default)."""
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment()
    out = dict(answers)
    for key, question in questions.items():
        when = question.get("when", True)
        if str(_render(env, when, out)).strip().lower() in ("false", "0", ""):
            out.pop(key, None)
            continue
        if key not in out:
            out[key] = _render(env, question.get("default"), out)
    return out


def _show(plan: generate.Plan, view: dict[str, Any]) -> None:
    from mlscaffold.display import show_plan

    show_plan(plan)
    typer.echo("Answers:")
    width = max(len(key) for key in view)
    for key, value in view.items():
        if key in ("copyright_year",):
            continue
        shown = value if value != "" else "(none)"
        typer.echo(f"  {key.ljust(width)}  {shown}")


def _ask_value(key: str, current: Any, question: dict[str, Any]) -> Any:
    choices = question.get("choices")
    if key in rules.ANSWER_KEYS:
        choices = rules.answer_values()[key]
    elif key == "stack":
        choices = list(rules.stacks())
    if isinstance(choices, list):
        return ask_menu(key, [str(c) for c in choices], str(current))
    if question.get("type") == "bool":
        return typer.confirm(key.replace("_", " "), default=bool(current))
    return typer.prompt(key.replace("_", " "), default=str(current or ""), show_default=True)


def plan_on_a_terminal(
    dest: Path,
    given: dict[str, str | None],
    *,
    stack: str | None,
    answers: dict[str, Any],
    template: str | None,
    existing: str,
) -> generate.Plan:
    """Ask, show, let the user change answers; returns the plan with every answer filled."""
    values, fallback = rules.answer_values(), rules.defaults()
    for key in ("task", "hardware"):
        if given[key] is None:
            given[key] = ask_menu(key, values[key], fallback[key])
    for key in ("goal", "data_size"):
        if given[key] is None and changes_outcome(key, given):
            given[key] = ask_menu(key, values[key], fallback[key])
    answers = {**identity_defaults(template), **answers}
    local = scaffold.bundled_template() if template is None else Path(template)
    questions = scaffold.questions(local) if (local / "copier.yml").is_file() else {}
    while True:
        plan = generate.plan(
            dest, given, stack=stack, data=answers, template=template, existing=existing
        )
        view = resolve(questions, plan.data) if questions else dict(plan.data)
        _show(plan, view)
        reply = typer.prompt(ACCEPT_PROMPT, default="", show_default=False).strip()
        if not reply:
            plan.data = view
            return plan
        if reply not in view:
            typer.echo(f"  no answer named {reply!r}; type one of the names above")
            continue
        value = _ask_value(reply, view[reply], questions.get(reply, {}))
        before = (dict(given), stack, dict(answers))
        if reply in rules.ANSWER_KEYS:
            given[reply] = value
        elif reply == "stack":
            stack = value
        else:
            answers[reply] = value
        try:
            generate.plan(
                dest, given, stack=stack, data=answers, template=template, existing=existing
            )
        except UsageError as exc:
            typer.echo(f"  {exc}; kept the previous value")
            given, stack, answers = before
