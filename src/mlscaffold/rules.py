"""Answers -> Recommendation, by the comparison rules in rules.yml. Pure: no I/O but that file."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

ANSWER_KEYS = ("task", "hardware", "goal", "data_size")


class RefusedError(ValueError):
    """No stack fits the answers; the message says why and what to choose instead."""


class UnknownValueError(ValueError):
    """An answer value that the rules do not know."""


@dataclass(frozen=True)
class Alternative:
    stack: str
    why_not: str


@dataclass(frozen=True)
class Recommendation:
    stack: str
    options: dict[str, str]
    reasons: list[str]
    alternatives: list[Alternative]
    rule: str = ""
    conflict: str | None = None
    answers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stable `recommend --json` object (DESIGN.md): exactly these four keys."""
        return {
            "stack": self.stack,
            "options": dict(self.options),
            "reasons": list(self.reasons),
            "alternatives": [{"stack": a.stack, "why_not": a.why_not} for a in self.alternatives],
        }


@functools.cache
def load_rules() -> dict[str, Any]:
    """The parsed rules.yml (cached: it never changes while the process runs)."""
    text = resources.files("mlscaffold").joinpath("rules.yml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def stacks() -> dict[str, dict[str, Any]]:
    return load_rules()["stacks"]


def answer_values() -> dict[str, list[str]]:
    return load_rules()["answers"]


def defaults() -> dict[str, str]:
    return dict(load_rules()["defaults"])


def matches(when: dict[str, list[str]] | None, answers: dict[str, str]) -> bool:
    return all(answers[key] in allowed for key, allowed in (when or {}).items())


def _fill(text: str, answers: dict[str, str]) -> str:
    return " ".join(text.format(**answers).split())


def complete_answers(**given: str | None) -> dict[str, str]:
    """Fill missing answers from the defaults and check every value; UnknownValueError if bad."""
    answers = defaults()
    answers.update({k: v for k, v in given.items() if v is not None})
    for key, allowed in answer_values().items():
        if answers[key] not in allowed:
            raise UnknownValueError(
                f"unknown {key} {answers[key]!r}; choose one of: {', '.join(allowed)}"
            )
    return answers


def match_rule(answers: dict[str, str]) -> dict[str, Any]:
    for rule in load_rules()["rules"]:
        if matches(rule.get("when"), answers):
            return rule
    raise AssertionError(f"rules.yml has no rule for {answers}")  # the grid test forbids this


def stack_gap(stack: str, answers: dict[str, str]) -> str | None:
    """Why `stack` cannot serve these answers at all, or None if its template covers them."""
    info = stacks()[stack]
    if answers["task"] not in info["tasks"]:
        return f"{stack} does not generate {answers['task']} projects (it serves {', '.join(info['tasks'])})."
    if answers["hardware"] not in info["hardware"]:
        return f"{stack} does not target {answers['hardware']} (it runs on {', '.join(info['hardware'])})."
    return None


def choose_options(stack: str, answers: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    reasons: list[str] = []
    for name, spec in load_rules().get("options", {}).items():
        if spec["stack"] != stack:
            continue
        for option_rule in spec["rules"]:
            if matches(option_rule.get("when"), answers):
                options[name] = option_rule["value"]
                reasons.append(_fill(option_rule["reason"], answers))
                break
    return options, reasons


def recommend(**given: str | None) -> Recommendation:
    """The stack for these answers, with reasons and every runner-up; RefusedError if none fits."""
    answers = complete_answers(**given)
    rule = match_rule(answers)
    if "refuse" in rule:
        raise RefusedError(_fill(rule["refuse"], answers))
    stack = rule["stack"]
    reasons = [_fill(r, answers) for r in rule["reasons"]]
    conflict = _fill(rule["conflict"], answers) if rule.get("conflict") else None
    if conflict:
        reasons.append(conflict)
    options, option_reasons = choose_options(stack, answers)
    reasons.extend(option_reasons)
    beats = rule.get("beats", {})
    alternatives = []
    for other in stacks():
        if other == stack:
            continue
        # The rule's own words first: they say which rule won (e.g. deployment over task).
        if other in beats:
            why_not = _fill(beats[other], answers)
        else:
            why_not = stack_gap(other, answers) or f"The rules prefer {stack} for these answers."
        alternatives.append(Alternative(other, why_not))
    # Runners-up that could serve the answers come first: they are the real choices.
    alternatives.sort(key=lambda a: stack_gap(a.stack, answers) is not None)
    return Recommendation(stack, options, reasons, alternatives, rule["id"], conflict, answers)


def answer_grid() -> list[dict[str, str]]:
    """Every combination of the four answers (the test grid and the codegen walk it)."""
    values = answer_values()
    return [
        dict(zip(ANSWER_KEYS, combo, strict=True))
        for combo in itertools.product(*(values[k] for k in ANSWER_KEYS))
    ]
