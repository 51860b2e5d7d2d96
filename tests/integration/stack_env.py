"""The cached environment that every generated project's integration test runs in.

One environment holds all four stacks' pinned dependencies (tests/integration/
stack-requirements.txt): about 3.4 GB, built once per machine in a few minutes and kept under
~/.cache/mlscaffold/envs/, keyed by a hash of the pins and the Python version. Each generated
project is then installed (a real wheel build, no dependencies fetched) into a throw-away
venv layered on top of it, so projects never leak into each other or into the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

from mlscaffold.scaffold import cache_root

REQUIREMENTS = Path(__file__).with_name("stack-requirements.txt")
CACHE_ROOT = cache_root()  # the same root as mlscaffold's own caches

# The tests of generated projects must never reach a hub: these make the libraries fail fast.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def env_key() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{sys.version_info[:2]}{sysconfig.get_platform()}".encode())
    return digest.hexdigest()[:16]


def env_dir() -> Path:
    return CACHE_ROOT / "envs" / f"stacks-{env_key()}"


def _site_packages(root: Path) -> Path:
    return (
        root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args], check=True)


def ensure_stack_env() -> Path:
    """The cached environment's python, building it first if this machine has none yet."""
    root = env_dir()
    python = root / "bin" / "python"
    ready = root / ".ready"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others wait and reuse it
        if ready.exists():
            return python
        print(f"building the cached stack environment in {root} (once per machine)", flush=True)
        venv.EnvBuilder(clear=True, with_pip=True).create(root)
        _pip(python, "install", "-q", "--upgrade", "pip")
        # torch first and alone, so pip takes the CPU wheel and no later resolve pulls CUDA.
        torch_pin = next(
            line.strip()
            for line in REQUIREMENTS.read_text().splitlines()
            if line.startswith("torch==")
        )
        _pip(python, "install", "-q", torch_pin)
        _pip(python, "install", "-q", "-r", str(REQUIREMENTS))
        ready.write_text(env_key())
    return python


def project_env(project: Path, workdir: Path) -> Path:
    """Install `project` into a fresh venv layered over the cached env; returns its python."""
    base = ensure_stack_env()
    layer = workdir / "venv"
    venv.EnvBuilder(with_pip=False).create(layer)
    # The .pth makes the cached env's packages importable from the layer.
    (_site_packages(layer) / "_mlscaffold_stack_env.pth").write_text(
        f"{_site_packages(base.parent.parent)}\n"
    )
    python = layer / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "--disable-pip-version-check",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(project),
        ],
        check=True,
    )
    # Installed with --no-deps: prove the cached env really satisfies what the project declares.
    distribution = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    missing = missing_requirements(python, distribution)
    if missing:
        raise AssertionError(f"{distribution} needs what the cached env lacks: {missing}")
    return python


# GPU builds stand in for their CPU wheels in the cached env (same import name, same API).
EQUIVALENT = {"tensorflow": "tensorflow-cpu", "xgboost": "xgboost-cpu"}

_CHECK_REQUIREMENTS = """
import importlib.metadata as md, json, sys
from packaging.requirements import Requirement
from packaging.version import Version
equivalent = json.loads(sys.argv[2])
missing = []
def check(text, extra=None):
    req = Requirement(text)
    env = {"extra": extra or ""}
    if req.marker and not req.marker.evaluate(env):
        return
    name = req.name
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        name = equivalent.get(req.name.lower(), req.name)
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            missing.append(text + " (not installed)")
            return
    if req.specifier and not req.specifier.contains(Version(version), prereleases=True):
        missing.append(f"{text} (found {version})")
    for wanted in req.extras:
        for sub in md.requires(name) or []:
            if f'extra == "{wanted}"' in sub or f"extra == '{wanted}'" in sub:
                check(sub, wanted)
for text in md.requires(sys.argv[1]) or []:
    if "extra ==" not in text:
        check(text)
print(json.dumps(missing))
"""


def missing_requirements(python: Path, distribution: str) -> list[str]:
    """The installed project's declared dependencies that the cached env does not satisfy."""
    import json

    result = subprocess.run(
        [str(python), "-c", _CHECK_REQUIREMENTS, distribution, json.dumps(EQUIVALENT)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def run_in(
    python: Path, args: list[str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run a command with the layered env's python, offline, and return its output."""
    env = {**os.environ, **OFFLINE_ENV, "PATH": f"{python.parent}:{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


# test name -> step -> seconds; printed as a table at the end of the session (conftest.py).
REPORT: dict[str, dict[str, float]] = {}
CURRENT_TEST = {"name": "?"}


def run_step(
    python: Path,
    args: list[str],
    cwd: Path,
    label: str,
    timings: dict[str, float] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """run_in, timed into `timings[label]` and the session report; fails with the output's tail."""
    import time

    started = time.perf_counter()
    result = run_in(python, args, cwd, timeout=timeout)
    seconds = round(time.perf_counter() - started, 1)
    if timings is not None:
        timings[label] = seconds
    REPORT.setdefault(CURRENT_TEST["name"], {})[label] = seconds
    assert result.returncode == 0, (
        f"{label} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result
