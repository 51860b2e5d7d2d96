"""Report how long each environment took to build or reuse, and each README step per project."""

from __future__ import annotations

import pytest

from tests.integration import stack_env


@pytest.fixture(autouse=True)
def _name_the_report_row(request: pytest.FixtureRequest) -> None:
    stack_env.CURRENT_TEST["name"] = request.node.name


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if stack_env.ENV_REPORT:
        terminalreporter.section("environments built from each project's declarations")
        rows = [["env", "action", "s", "MB", "installer", "projects"]]
        for env, info in stack_env.ENV_REPORT.items():
            projects = sorted(set(info["projects"]))
            rows.append(
                [
                    env,
                    info["action"],
                    f"{info['seconds']:.1f}",
                    str(info["size_mb"]),
                    info["installer"],
                    ", ".join(projects),
                ]
            )
        for line in _table(rows):
            terminalreporter.write_line(line)
    if stack_env.REPORT:
        terminalreporter.section("generated projects: wall time per README step (s)")
        steps = list(dict.fromkeys(step for row in stack_env.REPORT.values() for step in row))
        rows = [["test", *steps]]
        for test, row in stack_env.REPORT.items():
            rows.append([test, *(f"{row[s]:.1f}" if s in row else "-" for s in steps)])
        for line in _table(rows):
            terminalreporter.write_line(line)
    if stack_env.SERVICE_LOAD:
        terminalreporter.section("services: each production project's own load test")
        rows = [["test", "load"]] + [[test, load] for test, load in stack_env.SERVICE_LOAD.items()]
        for line in _table(rows):
            terminalreporter.write_line(line)
