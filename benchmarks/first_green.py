"""A newcomer's time to a green test run: `mlscaffold new demo --defaults`, install, test.

    python benchmarks/first_green.py [--rounds 3] [--out benchmarks/results]

Each round starts in a fresh directory and times three whole processes, for each installer:
`mlscaffold new demo --defaults` (the tabular XGBoost project), the install into a new venv
(`pip install -e ".[dev]"`, or `uv pip install -e ".[dev]"` when uv is on PATH), and the
project's own `pytest`. Package caches stay warm between rounds (pip's and uv's own), as on a
developer's machine after the first project. Information only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
MLSCAFFOLD = str(BIN / "mlscaffold")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def one_round(installer: str) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's first run writes .pyc files
    with tempfile.TemporaryDirectory(prefix="first-green-") as tmp:
        root = Path(tmp)
        steps = {"new": timed([MLSCAFFOLD, "new", "demo", "--defaults"], root, env)}
        project = root / "demo"
        venv = project / ".venv"
        if installer == "uv":
            steps["install"] = timed(["uv", "venv", "-q", str(venv)], project, env) + timed(
                [
                    "uv",
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(venv / "bin" / "python"),
                    "-e",
                    ".[dev]",
                ],
                project,
                env,
            )
        else:
            steps["install"] = timed(
                [sys.executable, "-m", "venv", str(venv)], project, env
            ) + timed(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-e", ".[dev]"],
                project,
                env,
            )
        steps["test"] = timed([str(venv / "bin" / "python"), "-m", "pytest", "-q"], project, env)
        steps["total"] = sum(steps.values())
        return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = parser.parse_args()
    installers = ["pip"] + (["uv"] if shutil.which("uv") else [])
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in installers}
    for round_ in range(args.rounds):
        for installer in installers:  # interleaved: machine load hits both alike
            runs[installer].append(one_round(installer))
            print(f"round {round_ + 1} {installer}: {runs[installer][-1]}", flush=True)
    medians = {
        installer: {
            step: round(statistics.median(r[step] for r in rounds), 2) for step in rounds[0]
        }
        for installer, rounds in runs.items()
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "first_green.json").write_text(
        json.dumps({"medians": medians, "runs": runs}, indent=2)
    )
    lines = [
        "| installer | new (s) | install (s) | tests (s) | total (s) |",
        "|---|---|---|---|---|",
    ]
    for installer, m in medians.items():
        lines.append(f"| {installer} | {m['new']} | {m['install']} | {m['test']} | {m['total']} |")
    (args.out / "first_green.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
