"""Whole-process timings of mlscaffold against plain Copier on the same template and answers.

    python benchmarks/run.py [--rounds 7] [--out benchmarks/results]

Each round runs every case once, in turn (interleaved), so machine load hits all cases alike;
the report gives medians and the ratios the performance issue targets. Information only:
nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MLSCAFFOLD = str(BIN / "mlscaffold")
COPIER = str(BIN / "copier")
STACK_ANSWERS = {
    "tabular": ["task=tabular-classification", "hardware=cpu"],
    "hf-finetune": ["task=text-classification", "hardware=gpu"],
    "tf-tflite": ["task=image-classification", "hardware=mobile"],
    "torch-lightning": ["task=custom", "hardware=gpu", "goal=research"],
}
TARGETS = {  # ratio name -> (case, baseline, maximum)
    "help_vs_copier_version": ("mlscaffold --help", "copier --version", 0.35),
    "new_vs_copier_copy": ("mlscaffold new (all stacks)", "copier copy (all stacks)", 0.9),
    "update_vs_copier_update": ("mlscaffold update", "copier update", 1.0),
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_template_repo(root: Path) -> Path:
    """A git repo of this template with tags v0.1.0 and v0.2.0 (a small README change)."""
    repo = root / "template-repo"
    repo.mkdir()
    shutil.copy(REPO / "copier.yml", repo)
    shutil.copytree(REPO / "templates", repo / "templates")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "v1")
    git(repo, "tag", "v0.1.0")
    readme = repo / "templates" / "_shared" / "readme" / "footer.md.jinja"
    readme.write_text(readme.read_text() + "\nReleased with benchmark v0.2.0.\n")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qam", "v2")
    git(repo, "tag", "v0.2.0")
    return repo


def plain_copy(root: Path) -> Path:
    """A non-git copy of the template, as `copier copy` of a checkout or a wheel would see it."""
    plain = root / "template-plain"
    plain.mkdir()
    shutil.copy(REPO / "copier.yml", plain)
    shutil.copytree(REPO / "templates", plain / "templates")
    return plain


def project_at_v1(repo: Path, dest: Path) -> Path:
    subprocess.run(
        [
            COPIER,
            "copy",
            "--defaults",
            "--quiet",
            "--vcs-ref",
            "v0.1.0",
            "--data",
            "project_name=bench",
            str(repo),
            str(dest),
        ],
        check=True,
        capture_output=True,
    )
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
    return dest


def timed(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{result.stderr}")
    return elapsed


def cases(work: Path, repo: Path, plain: Path) -> dict[str, Callable[[int], float]]:
    counter = iter(range(10**6))

    def fresh(name: str) -> Path:
        return work / f"{name}-{next(counter)}"

    def new_all(cold: bool) -> float:
        # The cold case has a cache of its own, so it never empties the warm case's.
        cache = work / ("cache-cold" if cold else "cache")
        env = {**os.environ, "MLSCAFFOLD_CACHE": str(cache)}
        total = 0.0
        for stack, answers in STACK_ANSWERS.items():
            if cold:  # as on the first run after an install or a template change
                shutil.rmtree(cache / "jinja", ignore_errors=True)
            total += timed(
                [
                    MLSCAFFOLD,
                    "new",
                    str(fresh("m")),
                    "--defaults",
                    *[f"--{a.split('=')[0].replace('_', '-')}={a.split('=')[1]}" for a in answers],
                    "--stack",
                    stack,
                ],
                env=env,
            )
        return total

    def copy_all(_: int) -> float:
        return sum(
            timed(
                [
                    COPIER,
                    "copy",
                    "--defaults",
                    "--quiet",
                    "--data",
                    "project_name=bench",
                    "--data",
                    f"stack={stack}",
                    *[x for a in answers for x in ("--data", a)],
                    str(plain),
                    str(fresh("c")),
                ]
            )
            for stack, answers in STACK_ANSWERS.items()
        )

    v1 = project_at_v1(repo, work / "v1")

    def update_with(command: list[str]) -> Callable[[int], float]:
        def run(_: int) -> float:
            clone = fresh("u")
            git(work, "clone", "-q", str(v1), str(clone))
            return timed(command, cwd=clone)

        return run

    return {
        "mlscaffold --help": lambda _: timed([MLSCAFFOLD, "--help"]),
        "mlscaffold --version": lambda _: timed([MLSCAFFOLD, "--version"]),
        "copier --version": lambda _: timed([COPIER, "--version"]),
        "mlscaffold recommend": lambda _: timed([MLSCAFFOLD, "recommend", "--json"]),
        "mlscaffold new (all stacks)": lambda _: new_all(cold=False),
        "mlscaffold new, cold compile cache (all stacks)": lambda _: new_all(cold=True),
        "copier copy (all stacks)": copy_all,
        "mlscaffold update": update_with([MLSCAFFOLD, "update", ".", "--vcs-ref", "v0.2.0"]),
        "copier update": update_with(
            [COPIER, "update", "--defaults", "--quiet", "--trust", "--vcs-ref", "v0.2.0"]
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    os.environ.setdefault("MLSCAFFOLD_TEMPLATE_URL", "https://github.com/mlscaffold/mlscaffold.git")
    with tempfile.TemporaryDirectory(prefix="mlscaffold-bench-") as tmp:
        work = Path(tmp)
        # mlscaffold's own cache (template snapshot, compiled templates) lives in the run's
        # folder: the first round fills it, as a user's first `new` would.
        os.environ["MLSCAFFOLD_CACHE"] = str(work / "cache")
        runs = cases(work, make_template_repo(work), plain_copy(work))
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for index in range(args.rounds):
            for name, run in runs.items():
                samples[name].append(run(index))
            print(f"round {index + 1}/{args.rounds} done", file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {}
    for key, (case, base, limit) in TARGETS.items():
        of_medians = medians[case] / medians[base]
        # Each round ran both cases back to back: the median of those paired ratios is less
        # sensitive to load that drifts between rounds. A target is met when both are.
        paired = statistics.median(a / b for a, b in zip(samples[case], samples[base], strict=True))
        ratios[key] = {
            "ratio": of_medians,
            "paired_ratio": paired,
            "target": limit,
            "met": max(of_medians, paired) <= limit,
        }
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "rounds": args.rounds,
        "median_seconds": medians,
        "samples": samples,
        "ratios": ratios,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(result, indent=2))
    lines = ["| case | median (s) |", "|---|---|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in medians.items()]
    lines += [
        "",
        "| ratio | of medians | median of paired rounds | target | met |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {key} | {r['ratio']:.2f} | {r['paired_ratio']:.2f} | <= {r['target']} "
        f"| {'yes' if r['met'] else 'NO'} |"
        for key, r in ratios.items()
    ]
    table = "\n".join(lines)
    (args.out / "latest.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
