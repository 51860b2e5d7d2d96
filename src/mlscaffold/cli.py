"""The `mlscaffold` command line: parse, call, print. The work happens in rules/scaffold."""

from __future__ import annotations

import functools
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from mlscaffold import __version__
from mlscaffold.errors import Interrupted, MlscaffoldError, UsageError

app = typer.Typer(
    help="Two answers in - what you build, where it runs - a proven ML project out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich for it would double `--help`'s time
)

VERBOSE = {"on": False}

TaskOpt = Annotated[
    str | None, typer.Option("--task", help="What you build (see `mlscaffold stacks`).")
]
HardwareOpt = Annotated[str | None, typer.Option("--hardware", help="Where it trains or runs.")]
GoalOpt = Annotated[str | None, typer.Option("--goal", help="research, production or prototype.")]
SizeOpt = Annotated[str | None, typer.Option("--data-size", help="small or large.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlscaffold {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show details (tracebacks) on errors.")
    ] = False,
) -> None:
    VERBOSE["on"] = verbose


def _fail(error: BaseException, code: int) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    if VERBOSE["on"]:
        import traceback

        traceback.print_exception(error)
    return typer.Exit(code)


def handle_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn mlscaffold's errors into one line on stderr and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except MlscaffoldError as exc:
            raise _fail(exc, exc.exit_code) from None
        except (KeyboardInterrupt, typer.Abort):  # Abort: Ctrl-C or EOF in a prompt
            typer.echo("error: interrupted; nothing was changed", err=True)
            raise typer.Exit(Interrupted.exit_code) from None

    return wrapper


def _recommend(task, hardware, goal, data_size):  # -> rules.Recommendation
    from mlscaffold import rules

    try:
        return rules.recommend(task=task, hardware=hardware, goal=goal, data_size=data_size)
    except (rules.RefusedError, rules.UnknownValueError) as exc:
        raise UsageError(str(exc)) from exc


@app.command()
@handle_errors
def recommend(
    task: TaskOpt = None,
    hardware: HardwareOpt = None,
    goal: GoalOpt = None,
    data_size: SizeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Which stack fits your answers, why, and why the others lost."""
    rec = _recommend(task, hardware, goal, data_size)
    if as_json:
        typer.echo(json.dumps(rec.to_json(), indent=2))
        return
    from mlscaffold.display import show_recommendation

    show_recommendation(rec)


@app.command()
@handle_errors
def stacks(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each stack: the tasks and hardware it serves and what it generates."""
    from mlscaffold import rules, scaffold

    built = scaffold.built_stacks()
    data = [
        {
            "stack": name,
            "title": info["title"],
            "libraries": info["libraries"],
            "tasks": info["tasks"],
            "hardware": info["hardware"],
            "generates": info["generates"],
            "available": name in built,
        }
        for name, info in rules.stacks().items()
    ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from mlscaffold.display import show_stacks

    show_stacks(data)


def parse_data(pairs: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data expects KEY=VALUE, got {pair!r}")
        data[key.strip()] = value
    return data


def stdin_is_terminal() -> bool:
    """Ask questions only on a terminal: pipes and CI never wait for input."""
    return sys.stdin.isatty()


@app.command()
@handle_errors
def new(
    path: Annotated[str, typer.Argument(help="Directory to create (must not exist or be empty).")],
    task: TaskOpt = None,
    hardware: HardwareOpt = None,
    goal: GoalOpt = None,
    data_size: SizeOpt = None,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Override the rules' choice of stack.")
    ] = None,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Any template answer, KEY=VALUE.")
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Template source: local path or git URL.")
    ] = None,
    vcs_ref: Annotated[str | None, typer.Option("--vcs-ref", help="Template git ref.")] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", "-y", help="Never ask: use defaults for the rest.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the stack and files; write nothing.")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow the template's tasks, migrations, extensions.")
    ] = False,
    existing: Annotated[
        str,
        typer.Option(
            "--existing",
            help="A non-empty PATH: refuse (default), keep (add only missing files), "
            "overwrite (replace the template's files). Other files are never touched.",
        ),
    ] = "refuse",
) -> None:
    """Generate a project: pick the stack by the rules, then render its template."""
    from mlscaffold import generate, placement, scaffold, sources

    if existing not in scaffold.EXISTING:
        raise UsageError(f"--existing must be one of: {', '.join(scaffold.EXISTING)}")
    if not path.strip():
        raise UsageError("PATH is empty; name the directory to create (or . for this one)")
    dest = placement.normalize(Path(path))
    from mlscaffold import validate

    validate.check_ref(vcs_ref)
    validate.check_source(template)
    interactive = not defaults and stdin_is_terminal()
    given = {"task": task, "hardware": hardware, "goal": goal, "data_size": data_size}
    generate.check_flags_agree({**given, "stack": stack}, parse_data(data or []))
    org = sources.load_org_config()
    # Org defaults < --data and flags < answers the org locks (a contradiction is exit 2).
    sources.merge_answers(org, {k: v for k, v in given.items() if v is not None})
    answers = sources.merge_answers(org, parse_data(data or []))
    for key, value in given.items():
        if value is None and key in answers:
            given[key] = answers[key]
    source = sources.plan_template(template, vcs_ref, org)
    template, vcs_ref = source.render_from, source.vcs_ref
    from mlscaffold import interactive as terminal
    from mlscaffold.display import show_plan

    if interactive and template is None:
        plan = terminal.plan_on_a_terminal(
            dest, given, stack=stack, answers=answers, template=template, existing=existing
        )
    else:
        # author and e-mail from `git config` unless given (copier-uv and cookie do the same)
        answers = {**terminal.identity_defaults(template), **answers}
        plan = generate.plan(
            dest, given, stack=stack, data=answers, template=template, existing=existing
        )
        show_plan(plan)
    files = generate.run(
        plan,
        template=template,
        vcs_ref=vcs_ref,
        ask=interactive and template is not None,  # a foreign template asks its own questions
        dry_run=dry_run,
        trust=trust,
        existing=existing,
        # Rendered from the bundled copy: record the canonical source and release tag, so
        # `copier update` / `mlscaffold update` can reach the template later.
        record=source.record,
    )
    from mlscaffold.display import show_done

    show_done(plan, files, dry_run=dry_run)


def _register_lifecycle() -> None:
    try:
        from mlscaffold.cli_lifecycle import register
    except ImportError:  # the lifecycle commands are optional while they are built
        return
    register(app)


_register_lifecycle()


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> None:
    """Console-script entry point: one line per error, exit codes from DESIGN.md.

    SIGTERM (a CI cancel, `timeout`) and SIGHUP (a closed terminal) unwind like Ctrl-C, so
    every clean-up (staging folders, template clones, an update's restore) runs.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("error: interrupted; nothing was changed", err=True)
        raise SystemExit(Interrupted.exit_code) from None
    except Exception as exc:  # the last line of defence: never a bare traceback
        raise SystemExit(_fail(exc, 1).exit_code) from None
