"""`mlscaffold update` and `mlscaffold check`: thin Typer commands over mlscaffold.lifecycle.

Wire them into the main app with `register(app)`. Copier is imported only when a command
runs, so `mlscaffold --help` stays fast.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mlscaffold.errors import MlscaffoldError, UsageError


class ConflictMode(str, Enum):  # noqa: UP042 (enum.StrEnum needs Python 3.11; we support 3.10)
    inline = "inline"
    rej = "rej"


EXIT_UPDATE_DUE = 4

UPDATE_HELP = "\n\n".join(
    [
        "Update a generated project to the newest template release (or --vcs-ref).",
        "The project must be in git with no uncommitted changes (else exit 2, nothing "
        "touched). Prints the old -> new template version. Every conflict left (inline "
        "<<<<<<< markers, unmerged paths, *.rej files) is listed and the exit code is 3: "
        "resolve them, then commit. --dry-run prints the diff the update would make, made on "
        "a temporary clone (exit 0).",
        "With --all, each PATH is a directory searched for projects (or a project itself); "
        "every project is tried and a summary table (or --json) shows: updated, current, "
        "conflicts, dirty (skipped), not-a-project (skipped), error. Exit 1 if any error, "
        "else 3 if any conflicts, else 0.",
        "--conflict inline (default) leaves <<<<<<< markers in the file. --conflict rej "
        "leaves the file at the release's version and puts YOUR changes that did not apply in "
        "FILE.rej: re-apply them by hand before you delete the .rej, or they are lost.",
        "A file the release adds that you already have but git ignores is kept (the release's "
        "version is written beside it as FILE.new); a file you edited that the release deletes "
        "is kept. Both are listed as conflicts.",
        "Exit codes: 0 ok; 1 failure (e.g. template unreachable); 2 bad usage or project "
        "refused; 3 conflicts left; 130 interrupted (the project is restored).",
    ]
)

CHECK_HELP = "\n\n".join(
    [
        "Show the project's template version, the newest release, and whether an update is due.",
        f"Exit codes (for scripts and CI): 0 up to date; {EXIT_UPDATE_DUE} an update is "
        "available; 2 not a generated project; 1 the template source cannot be reached.",
    ]
)


def _fail(exc: MlscaffoldError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(exc.exit_code)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _name(path: Path) -> str:
    try:
        rel = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else path.name


def update_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The project (default: the current directory); with --all, directories to search.",
            show_default=False,
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Template tag or branch to update to.")
    ] = None,
    conflict: Annotated[
        ConflictMode,
        typer.Option("--conflict", help="How to leave conflicts: inline markers or .rej files."),
    ] = ConflictMode.inline,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults/--no-defaults",
            help="Answer questions new in this release with their defaults (else prompt).",
        ),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; change nothing.")
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Update every project under the given directories.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow template tasks, migrations and extensions.")
    ] = False,
) -> None:
    from mlscaffold import lifecycle
    from mlscaffold.validate import check_ref

    check_ref(vcs_ref)
    paths = paths or [Path(".")]
    options = {
        "vcs_ref": vcs_ref,
        "conflict": conflict.value,
        "defaults": defaults,
        "dry_run": dry_run,
        "trust": trust,
    }
    if all_:
        missing = [str(p) for p in paths if not p.expanduser().is_dir()]
        if missing:
            raise UsageError(f"update --all: {missing[0]} is not a directory")
        rows = lifecycle.update_all(paths, **options)
        _print_bulk(rows, as_json=as_json, dry_run=dry_run)
        statuses = {row.status for row in rows}
        if "error" in statuses:
            raise typer.Exit(1)
        if "conflicts" in statuses:
            raise typer.Exit(3)
        return
    if len(paths) > 1:
        typer.echo("error: update takes one project; use --all to update several", err=True)
        raise typer.Exit(2)
    try:
        result = lifecycle.update(paths[0], **options)
    except MlscaffoldError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(result.to_dict())
    else:
        _print_update(result)
    if result.conflicts and not result.dry_run:
        typer.echo(
            f"error: the update left conflicts in {len(result.conflicts)} file(s); "
            "resolve them, delete any .rej files, then commit",
            err=True,
        )
        raise typer.Exit(3)


def _print_update(result: Any) -> None:
    name = _name(result.project)
    if result.dry_run:
        if result.old == result.new and not result.changed:
            typer.echo(f"{name}: already at {result.old} (newest); nothing to do")
            return
        typer.echo(result.diff or "", nl=False)
        typer.echo(
            f"dry run: {name}: {result.old} -> {result.new} would change "
            f"{len(result.changed)} file(s); nothing was written",
            err=True,
        )
        for c in result.conflicts:
            typer.echo(f"dry run: would conflict: {c.path} ({c.kind})", err=True)
        return
    if result.status == "current":
        typer.echo(f"{name}: already at {result.new} (newest); nothing to do")
        return
    typer.echo(f"{name}: {result.old} -> {result.new}")
    for path in result.changed:
        typer.echo(f"  changed: {path}")
    if result.conflicts:
        typer.echo("Conflicts left (resolve them, then commit):")
        for c in result.conflicts:
            typer.echo(f"  {c.path}  ({c.kind})")
    else:
        typer.echo("Review with `git diff`, then commit.")


def _print_bulk(rows: list[Any], *, as_json: bool, dry_run: bool) -> None:
    from collections import Counter

    counts = Counter(row.status for row in rows)
    if as_json:
        _print_json({"rows": [row.to_dict() for row in rows], "summary": dict(counts)})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title="mlscaffold update --all" + (" (dry run: nothing written)" if dry_run else "")
    )
    for column in ("project", "status", "version", "details"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row.old and row.new and row.old != row.new:
            version = f"{row.old} -> {row.new}"
        else:
            version = row.new or row.old or ""
        details = ", ".join(row.conflicts) if row.conflicts else row.message
        table.add_row(_name(row.path), row.status, version, details)
    console = Console(width=120, highlight=False, soft_wrap=False)
    console.print(table)
    summary = ", ".join(f"{counts[s]} {s}" for s in _order(counts))
    typer.echo(f"{len(rows)} directories: {summary}")


def _order(counts: Any) -> list[str]:
    from mlscaffold.lifecycle import BULK_STATUSES

    return [s for s in BULK_STATUSES if counts.get(s)]


def check_command(
    path: Annotated[
        Path, typer.Argument(help="The project (default: the current directory).")
    ] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    from mlscaffold import lifecycle

    try:
        result = lifecycle.check(path)
    except MlscaffoldError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(result.to_dict())
    else:
        name = _name(result.project) if result.project else str(path)
        typer.echo(f"{name}: template {result.current} from {result.source}")
        if result.update_due:
            typer.echo(f"newest: {result.latest}: update available; run `mlscaffold update`")
        else:
            typer.echo(f"newest: {result.latest or 'no release tags'}: up to date")
    if result.update_due:
        raise typer.Exit(EXIT_UPDATE_DUE)


def register(app: typer.Typer) -> None:
    """Add `update` and `check` to the mlscaffold Typer app."""
    from mlscaffold.cli import handle_errors  # interrupts: exit 130, one line

    app.command("update", help=UPDATE_HELP)(handle_errors(update_command))
    app.command("check", help=CHECK_HELP)(handle_errors(check_command))
