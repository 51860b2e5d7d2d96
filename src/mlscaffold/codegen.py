"""Generate the Copier questions that must follow the rules, from rules.yml.

`copier copy` without mlscaffold has to reach the same stack as `mlscaffold new`, so the
`stack` default, its validator and the option defaults are Jinja expressions written from the
same data the CLI reads. Run `python -m mlscaffold.codegen` after editing rules.yml; a test
fails while templates/_questions/{project,rules}.yml are stale.
"""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from mlscaffold import names, rules, scaffold

HEADER = (
    "# GENERATED from src/mlscaffold/rules.yml and names.py by `python -m mlscaffold.codegen`:\n"
    "# do not edit. copier.yml !includes this file.\n"
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


def refusal_validator() -> str:
    """The rules' refusals, checked on the last answer they depend on (data_size).

    On `stack` itself Copier would first reject the empty default as an invalid choice and
    never show why; here the user reads the rule's own reason.
    """
    branches = [
        (_condition(rule["when"]), _jinja_text(rule["refuse"]))
        for rule in rules.load_rules()["rules"]
        if "refuse" in rule
    ]
    return _if_chain(branches)


def stack_validator(built: set[str]) -> str:
    branches = []
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
        (_condition(rule.get("when")), rule["value"]) for rule in spec["rules"] if rule.get("when")
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
    out["data_size"]["validator"] = refusal_validator()
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


def name_questions() -> dict[str, Any]:
    """project_name / package_name with the validators of names.py, as Jinja."""
    forbidden = sorted(
        names.RESERVED
        | {m for m in sys.stdlib_module_names if not m.startswith("_")}
        | {k.lower() for k in keyword.kwlist}
    )
    return {
        "project_name": {
            "type": "str",
            "help": "Project name (distribution name, e.g. churn-model)",
            "validator": (
                f"{{% if not (project_name | regex_search({names.PROJECT_NAME.pattern!r})) %}}"
                "project_name must start with a letter, end with a letter or digit, and use only "
                "letters, digits, '.', '_' and '-'"
                f"{{% elif project_name | length > {names.MAX_PROJECT_NAME} %}}"
                f"project_name must have at most {names.MAX_PROJECT_NAME} characters{{% endif %}}"
            ),
        },
        "package_name": {
            "type": "str",
            "help": "Python import name of the package",
            "default": "{{ project_name | lower | replace('-', '_') | replace('.', '_') }}",
            "validator": (
                f"{{% if not (package_name | regex_search({names.PACKAGE_NAME.pattern!r})) %}}"
                "package_name must be a lowercase Python identifier (letters, digits, '_'), "
                f"starting with a letter{{% elif package_name in {forbidden!r} %}}"
                "package_name {{ package_name }} would shadow a Python keyword, a standard-library "
                "module or a dependency; choose another name{% endif %}"
            ),
        },
    }


def _dump(data: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(data, sort_keys=False, width=10_000, allow_unicode=True)


def outputs(repo_root: Path) -> dict[Path, str]:
    """Every generated file and its content."""
    templates = repo_root / "templates"
    built = scaffold.built_stacks(repo_root)
    return {
        templates / "_questions" / "project.yml": _dump(name_questions()),
        templates / "_questions" / "rules.yml": _dump(questions(built)),
    }


def main() -> int:
    repo_root = Path(__file__).resolve().parents[2]
    stale = []
    for path, text in outputs(repo_root).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if "--check" in sys.argv:
            stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python -m mlscaffold.codegen", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
