"""`mlscaffold new`: check everything, decide the stack and answers, then render once."""

from __future__ import annotations

import datetime
import difflib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlscaffold import names, placement, rules, scaffold, validate
from mlscaffold.errors import UsageError


@dataclass
class Plan:
    dest: Path
    stack: str
    data: dict[str, Any]
    recommendation: rules.Recommendation | None
    warnings: list[str] = field(default_factory=list)


def _check_data(data: dict[str, Any], questions: dict[str, dict[str, Any]]) -> None:
    """Typo protection: every --data key must be a question, every choice a listed value."""
    for key, value in data.items():
        if key not in questions:
            close = difflib.get_close_matches(key, list(questions), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"unknown answer {key!r}{hint}; the template asks: {', '.join(questions)}"
            )
        choices = questions[key].get("choices")
        if isinstance(choices, list) and str(value) not in [str(c) for c in choices]:
            raise UsageError(
                f"invalid value {value!r} for {key}; choose one of: {', '.join(map(str, choices))}"
            )


FLAGS = ("task", "hardware", "goal", "data_size", "stack")


def check_flags_agree(flags: dict[str, str | None], data: dict[str, Any]) -> None:
    """`--task X --data task=Y` is a contradiction, not a preference: refuse it."""
    for key in FLAGS:
        flag = flags.get(key)
        if flag is not None and key in data and str(data[key]) != flag:
            option = "--" + key.replace("_", "-")
            raise UsageError(
                f"{option} {flag} and --data {key}={data[key]} disagree; give only one of them"
            )


def plan(
    dest: Path,
    given: dict[str, str | None],
    *,
    stack: str | None = None,
    data: dict[str, str] | None = None,
    template: str | None = None,
    existing: str = "refuse",
) -> Plan:
    """Validate the request and decide every answer; raises UsageError, writes nothing."""
    data = dict(data or {})
    dest = placement.normalize(dest)
    check_flags_agree({"stack": stack}, data)
    scaffold.check_destination(dest, existing)
    local = scaffold.bundled_template() if template is None else Path(template)
    questions: dict[str, dict[str, Any]] = {}
    if (local / "copier.yml").is_file():  # a remote template is checked by Copier itself
        questions = scaffold.questions(local)
    data = validate.coerce_answers(data, questions)  # types first: YAML's `no` is a boolean
    if questions:
        _check_data(data, questions)
    project_name = data.get("project_name") or dest.name
    names.check_project_name(project_name)
    package_name = data.get("package_name") or names.package_from_project(project_name)
    names.check_package_name(package_name)
    try:
        answers = rules.complete_answers(**given)
    except rules.UnknownValueError as exc:
        raise UsageError(str(exc)) from exc

    warnings: list[str] = []
    try:
        rec: rules.Recommendation | None = rules.recommend(**answers)
        refusal = None
    except rules.RefusedError as exc:
        rec, refusal = None, str(exc)

    chosen = stack or data.get("stack") or (rec.stack if rec else None)
    if chosen is None:
        raise UsageError(refusal or "no stack fits these answers")
    if chosen not in rules.stacks():
        raise UsageError(f"unknown stack {chosen!r}; choose one of: {', '.join(rules.stacks())}")
    gap = rules.stack_gap(chosen, answers)
    if gap:
        raise UsageError(gap)
    if rec is None:
        warnings.append(
            f"--stack {chosen} overrides the rules, which refuse these answers: {refusal}"
        )
    elif chosen != rec.stack:
        warnings.append(
            f"--stack {chosen} overrides the rules, which recommend {rec.stack}: {rec.reasons[0]}"
        )
    if template is None and chosen not in scaffold.built_stacks():
        raise UsageError(
            f"the {chosen} template is not built yet in this release; "
            f"available: {', '.join(sorted(scaffold.built_stacks()))}"
        )

    options = (
        rec.options if rec and rec.stack == chosen else rules.choose_options(chosen, answers)[0]
    )
    final = {
        "project_name": project_name,
        "package_name": package_name,
        **answers,
        "stack": chosen,
        **options,
        "copyright_year": str(datetime.date.today().year),
        **{k: v for k, v in data.items() if k not in rules.ANSWER_KEYS},
    }
    return Plan(dest, chosen, final, rec, warnings)


def run(
    plan: Plan,
    *,
    template: str | None = None,
    vcs_ref: str | None = None,
    ask: bool = False,
    dry_run: bool = False,
    trust: bool = False,
    existing: str = "refuse",
    record: tuple[str, str] | None = None,
) -> list[Path]:
    """Render the plan (all or nothing); with dry_run, render to a temp dir and discard it.

    `record` = (`_src_path`, `_commit`) is written into the staged answers file before the
    project is placed (rendered from the bundled copy: see sources.record_origin).
    """
    from mlscaffold import sources

    def finish(project: Path) -> None:
        if record is not None:
            sources.record_origin(project, *record)

    if not dry_run:
        return scaffold.render(
            plan.dest,
            plan.data,
            template=template,
            vcs_ref=vcs_ref,
            defaults=not ask,
            trust=trust,
            existing=existing,
            finish=finish,
        )
    scratch = Path(tempfile.mkdtemp(prefix="mlscaffold-dry-run-"))
    try:
        return scaffold.render(
            scratch / plan.dest.name,
            plan.data,
            template=template,
            vcs_ref=vcs_ref,
            defaults=True,
            trust=trust,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
