"""Report how long each generated project's own suite, training and export took."""

from __future__ import annotations

import pytest

from tests.integration import stack_env


@pytest.fixture(autouse=True)
def _name_the_report_row(request: pytest.FixtureRequest) -> None:
    stack_env.CURRENT_TEST["name"] = request.node.name


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not stack_env.REPORT:
        return
    terminalreporter.section("generated projects: wall time per step (s)")
    for test, steps in stack_env.REPORT.items():
        cells = ", ".join(f"{step} {seconds:.1f}" for step, seconds in steps.items())
        terminalreporter.write_line(f"{test}: {cells}")
