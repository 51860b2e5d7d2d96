"""What the CLI prints for people (rich tables); JSON output lives in cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mlscaffold.generate import Plan
from mlscaffold.rules import Recommendation

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def show_recommendation(rec: Recommendation) -> None:
    answers = ", ".join(f"{k}={v}" for k, v in rec.answers.items())
    out.print(f"[bold]Recommended stack: {rec.stack}[/bold]  ({answers})")
    for reason in rec.reasons:
        out.print(f"  - {reason}")
    if rec.options:
        out.print("  options: " + ", ".join(f"{k}={v}" for k, v in rec.options.items()))
    table = Table("stack", "verdict", title="How the stacks compare", title_justify="left")
    table.add_row(rec.stack, "[green]chosen[/green]: " + rec.reasons[0])
    for alt in rec.alternatives:
        table.add_row(alt.stack, alt.why_not)
    out.print(table)


def show_stacks(stacks: list[dict[str, Any]]) -> None:
    table = Table("stack", "tasks", "hardware", "generates", show_lines=True)
    for info in stacks:
        name = info["stack"] + ("" if info["available"] else "\n(not built yet)")
        table.add_row(
            name, "\n".join(info["tasks"]), ", ".join(info["hardware"]), info["generates"]
        )
    out.print(table)


def show_plan(plan: Plan) -> None:
    for warning in plan.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(f"[bold]Stack: {plan.stack}[/bold]")
    if plan.recommendation and plan.recommendation.stack == plan.stack:
        for reason in plan.recommendation.reasons:
            out.print(f"  - {reason}")


def show_done(plan: Plan, files: list[Path], *, dry_run: bool) -> None:
    if dry_run:
        out.print(f"Dry run: would write {len(files)} files to {plan.dest}:")
        for path in files:
            out.print(f"  {path}")
        return
    out.print(f"Created {plan.dest} ({len(files)} files). Next:")
    out.print(f"  cd {plan.dest}")
    out.print("  python -m venv .venv && . .venv/bin/activate")
    out.print("  make install   # editable install with the dev tools")
    out.print("  make test      # the project's own tests, offline")
    package = plan.data["package_name"]
    if plan.stack == "hf-finetune":
        # `make train` fine-tunes the hub checkpoint (a download); the tiny preset is offline.
        out.print(f"  python -m {package}.train --config configs/tiny.yaml   # offline, seconds")
        out.print("  make train     # fine-tunes the hub checkpoint in configs/train.yaml")
    else:
        out.print("  make train     # train on the bundled sample, offline")
    out.print("  (README.md explains each output and how to use your own data)")
