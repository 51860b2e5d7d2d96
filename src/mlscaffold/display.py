"""What the CLI prints for people (rich tables); JSON output lives in cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlscaffold.generate import Plan
    from mlscaffold.rules import Recommendation


def _console():  # rich only for the tables: `new` prints plain lines and skips its import
    from rich.console import Console

    return Console(highlight=False)


def show_recommendation(rec: Recommendation) -> None:
    from rich.table import Table

    out = _console()
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


def _width() -> int:
    import shutil

    return max(40, min(100, shutil.get_terminal_size((80, 24)).columns))


def _wrapped(text: str, indent: str) -> str:
    import textwrap

    return textwrap.fill(
        text, width=_width(), initial_indent=indent, subsequent_indent=indent + "  "
    )


def show_stacks(stacks: list[dict[str, Any]]) -> None:
    """One block per stack, wrapped to the terminal: names are never cut (a table at 80
    columns truncated task names and wrapped each description over 15 lines)."""
    import textwrap

    width = _width()
    for number, info in enumerate(stacks):
        if number:
            typer.echo("")
        badge = "" if info["available"] else "  (not built yet)"
        typer.echo(f"{info['stack']}: {info['title']}{badge}")
        for label, value in (
            ("libraries", info["libraries"]),
            ("tasks", ", ".join(info["tasks"])),
            ("hardware", ", ".join(info["hardware"])),
            ("generates", info["generates"]),
        ):
            typer.echo(
                textwrap.fill(
                    value,
                    width=width,
                    initial_indent=f"  {label + ':':<11}",
                    subsequent_indent=" " * 13,
                    break_on_hyphens=False,
                    break_long_words=False,
                )
            )


def show_plan(plan: Plan) -> None:
    for warning in plan.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"Stack: {plan.stack}")
    if plan.recommendation and plan.recommendation.stack == plan.stack:
        for reason in plan.recommendation.reasons:
            typer.echo(_wrapped(f"- {reason}", "  "))


def show_done(plan: Plan, files: list[Path], *, dry_run: bool) -> None:
    if dry_run:
        typer.echo(f"Dry run: would write {len(files)} files to {plan.dest}:")
        for path in files:
            typer.echo(f"  {path}")
        return
    typer.echo(f"Created {plan.dest} ({len(files)} files). Next:")
    typer.echo(f"  cd {plan.dest}")
    typer.echo("  make install   # uv sync (or, without uv, pip in an active venv)")
    typer.echo("  make test      # the project's own tests, offline")
    package = plan.data["package_name"]
    if plan.stack == "hf-finetune":
        # `make train` fine-tunes the hub checkpoint (a download); the tiny preset is offline.
        typer.echo(f"  python -m {package}.train --config configs/tiny.yaml   # offline, seconds")
        typer.echo("  make train     # fine-tunes the hub checkpoint in configs/train.yaml")
    else:
        typer.echo("  make train     # train on the bundled sample, offline")
    typer.echo("  (README.md explains each output and how to use your own data)")
