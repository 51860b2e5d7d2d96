"""Generate the Copier questions that must follow the rules, from rules.yml.

`copier copy` without mlscaffold has to reach the same stack as `mlscaffold new`, so the
`stack` default, its validator and the option defaults are Jinja expressions written from the
same data the CLI reads. Run `python -m mlscaffold.codegen` after editing rules.yml; a test
fails while templates/_questions/rules.yml is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from mlscaffold import rules

HEADER = (
    "# GENERATED from src/mlscaffold/rules.yml by `python -m mlscaffold.codegen`: do not edit.\n"
    "# The answers that pick the stack, and the stack itself, as Copier questions.\n"
)

HELP = {
    "task": "What are you building?",
    "hardware": "Where must it train or run?",
    "goal": "What is the goal?",
    "data_size": "How much data? (large = does not fit comfortably in one machine's memory)",
}


def _condition(when: dict[str, list[str]] | None) -> str:
    parts = [f"{key} in {list(values)!r}" for key, values in (when or {}).items()]
    return " and ".join(parts) or "true"


def _jinja_text(text: str) -> str:
    """rules.yml placeholders ({task}) -> Jinja ({{ task }}), whitespace folded."""
    return re.sub(r"\{(\w+)\}", r"{{ \1 }}", " ".join(text.split()))


def _if_chain(branches: list[tuple[str, str]], otherwise: str = "") -> str:
    out = ""
    for index, (condition, value) in enumerate(branches):
        out += f"{{% {'if' if index == 0 else 'elif'} {condition} %}}{value}"
    if otherwise:
        out += f"{{% else %}}{otherwise}"
    return out + "{% endif %}"


def stack_default() -> str:
    branches = [
        (_condition(rule.get("when")), rule.get("stack", ""))
        for rule in rules.load_rules()["rules"]
    ]
    return _if_chain(branches)


def stack_validator(built: set[str]) -> str:
    branches = []
    for rule in rules.load_rules()["rules"]:
        if "refuse" in rule:
            branches.append((_condition(rule["when"]), _jinja_text(rule["refuse"])))
    for name, info in rules.stacks().items():
        if name not in built:
            branches.append(
                (f"stack == {name!r}", f"the {name} template is not built yet in this release")
            )
        branches.append(
            (
                f"stack == {name!r} and task not in {info['tasks']!r}",
                f"{name} does not generate {{{{ task }}}} projects "
                f"(it serves {', '.join(info['tasks'])})",
            )
        )
        branches.append(
            (
                f"stack == {name!r} and hardware not in {info['hardware']!r}",
                f"{name} does not target {{{{ hardware }}}} "
                f"(it runs on {', '.join(info['hardware'])})",
            )
        )
    return _if_chain(branches)


def option_default(spec: dict[str, Any]) -> str:
    branches = [
        (_condition(rule.get("when")), rule["value"])
        for rule in spec["rules"]
        if rule.get("when")
    ]
    fallback = next(rule["value"] for rule in spec["rules"] if not rule.get("when"))
    return _if_chain(branches, fallback) if branches else fallback


def questions(built: set[str]) -> dict[str, Any]:
    data = rules.load_rules()
    out: dict[str, Any] = {}
    for key in rules.ANSWER_KEYS:
        out[key] = {
            "type": "str",
            "help": HELP[key],
            "choices": list(data["answers"][key]),
            "default": data["defaults"][key],
        }
    out["stack"] = {
        "type": "str",
        "help": "Framework stack (the default follows mlscaffold's comparison rules)",
        "choices": list(data["stacks"]),
        "default": stack_default(),
        "validator": stack_validator(built),
    }
    for name, spec in data.get("options", {}).items():
        out[name] = {
            "type": "str",
            "help": spec["help"],
            "choices": list(spec["choices"]),
            "default": option_default(spec),
            "when": f"{{{{ stack == {spec['stack']!r} }}}}",
        }
    return out


def render(repo_root: Path) -> str:
    built = {p.name for p in (repo_root / "templates").iterdir() if (p / "pyproject.toml.jinja").exists()}
    body = yaml.safe_dump(questions(built), sort_keys=False, width=10_000, allow_unicode=True)
    return HEADER + body


def target(repo_root: Path) -> Path:
    return repo_root / "templates" / "_questions" / "rules.yml"


def main() -> int:
    repo_root = Path(__file__).resolve().parents[2]
    path = target(repo_root)
    text = render(repo_root)
    if "--check" in sys.argv:
        if path.read_text(encoding="utf-8") != text:
            print(f"{path} is stale: run python -m mlscaffold.codegen", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
