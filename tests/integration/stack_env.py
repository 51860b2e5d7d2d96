"""Environments for generated projects, built only from what each project declares.

For a rendered project, `project_env` reads its `pyproject.toml` (the dependencies and the
`dev` extra: what `make install` installs), builds a venv from exactly those requirement
strings, pinned by tests/integration/constraints.txt (which only constrains, never adds),
and caches it under ~/.cache/mlscaffold/envs/, keyed by a hash of the requirement strings,
the constraints file, the build recipe and the Python version/platform. Variants with the
same declarations share an environment; a project that forgets a dependency gets an
environment without it, so one stack's extras can never hide another's missing dependency.

The project itself is then installed by its README's own install command (`make install`),
run in a throw-away venv layered over the cached one: the install must find every declared
dependency already there (nothing is fetched, nothing hidden by `--no-deps`), and the
projects never leak into the cache or into each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import venv
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlscaffold.scaffold import cache_root

CONSTRAINTS = Path(__file__).with_name("constraints.txt")
CACHE_ROOT = cache_root()  # the same root as mlscaffold's own caches
ENVS = CACHE_ROOT / "envs"
# Part of the cache key: bump it when the way an environment is built changes.
RECIPE = "declared-v1"

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


@dataclass(frozen=True)
class Declared:
    """What a generated project's pyproject.toml asks for."""

    distribution: str
    package: str  # the import name of the project's own package (src/<package>)
    dependencies: tuple[str, ...]
    dev: tuple[str, ...]

    @property
    def requirements(self) -> tuple[str, ...]:
        return self.dependencies + self.dev

    @property
    def declares_torch(self) -> bool:
        return any(Requirement(text).name == "torch" for text in self.requirements)


def declared(project: Path) -> Declared:
    """The project's declared dependencies and `dev` extra, as written in its pyproject.toml."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    packages = [p for p in (project / "src").iterdir() if (p / "__init__.py").is_file()]
    assert len(packages) == 1, f"one package under {project}/src, found {packages}"
    return Declared(
        distribution=meta["project"]["name"],
        package=packages[0].name,
        dependencies=tuple(meta["project"].get("dependencies", [])),
        dev=tuple(meta["project"].get("optional-dependencies", {}).get("dev", [])),
    )


def installer() -> str:
    """'uv' or 'pip' for everything but torch (torch is always pip: only pip sees its wheel).

    Measured here (2 cores, empty uv cache, torch already in): the rest of a tabular env in
    4.5 s with uv against 42 s with pip, hf-finetune 4.0 s against 72 s, tf-tflite 16 s
    against 77 s, the same packages, and uv kept the CPU torch. MLSCAFFOLD_ENV_INSTALLER=pip
    forces pip; without uv installed, pip is used.
    """
    wanted = os.environ.get("MLSCAFFOLD_ENV_INSTALLER", "uv")
    if wanted == "uv" and _uv() is None:
        return "pip"
    return wanted


def _uv() -> str | None:
    try:
        import uv  # the pip-installable uv ships its binary inside the wheel

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def env_key(requirements: tuple[str, ...]) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    digest.update(installer().encode())
    digest.update("\n".join(sorted(requirements)).encode())
    digest.update(CONSTRAINTS.read_bytes())
    digest.update(f"{sys.version_info[:2]}{sysconfig.get_platform()}".encode())
    return digest.hexdigest()[:16]


def env_dir(requirements: tuple[str, ...]) -> Path:
    return ENVS / f"declared-{env_key(requirements)}"


def _site_packages(root: Path) -> Path:
    return (
        root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def _pip(python: Path, *args: str) -> None:
    _run([str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args])


def _installed_version(python: Path, name: str) -> str | None:
    result = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def _size_mb(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                total += os.stat(path).st_size
    return round(total / 2**20)


# env folder -> {"action": built|reused, "seconds", "size_mb", "installer", "projects": [...]}
ENV_REPORT: dict[str, dict] = {}


def ensure_env(spec: Declared) -> Path:
    """The cached environment's python for these declarations, building it if there is none."""
    root = env_dir(spec.requirements)
    python = root / "bin" / "python"
    ready = root / ".ready"
    ENVS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(ENVS / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per env; the others wait, then reuse it
        if ready.exists():
            ready.touch()  # last use, for _prune
            info = json.loads(ready.read_text())
            row = ENV_REPORT.setdefault(
                root.name,
                {
                    "action": "reused",
                    "seconds": round(time.perf_counter() - started, 1),
                    "size_mb": info["size_mb"],
                    "installer": info["installer"],
                    "projects": [],
                },
            )
        else:
            _prune(keep=root)
            info = _build(root, spec)
            row = ENV_REPORT.setdefault(root.name, {**info, "action": "built", "projects": []})
    row["projects"].append(spec.distribution)
    return python


# Environments unused this long are removed when another one is built: old pins and old
# declarations would otherwise pile up (0.5-2.5 GB each).
MAX_IDLE_DAYS = 30


def _prune(keep: Path) -> None:
    cutoff = time.time() - MAX_IDLE_DAYS * 86400
    for root in ENVS.glob("*"):
        if root == keep or not root.is_dir():
            continue
        ready = root / ".ready"
        last_use = ready.stat().st_mtime if ready.exists() else root.stat().st_mtime
        if last_use < cutoff:
            shutil.rmtree(root, ignore_errors=True)


def _build(root: Path, spec: Declared) -> dict:
    print(f"building {root} for {spec.distribution}", flush=True)
    started = time.perf_counter()
    venv.EnvBuilder(clear=True, with_pip=True).create(root)
    python = root / "bin" / "python"
    constraints = ["-c", str(CONSTRAINTS)]
    torch = [text for text in spec.requirements if Requirement(text).name == "torch"]
    if torch:
        # torch first and alone, with pip: only pip sees the local CPU wheel; uv (and any later
        # resolve) would otherwise pull a multi-GB CUDA build.
        _pip(python, "install", *constraints, *torch)
    torch_version = _installed_version(python, "torch")
    rest = [text for text in spec.requirements if Requirement(text).name != "torch"]
    how = installer()
    if how == "uv":
        _run([_uv(), "pip", "install", "--quiet", "--python", str(python), *constraints, *rest])
    else:
        _pip(python, "install", *constraints, *rest)
    # Safety net for uv: the second step must keep the CPU torch it found, never swap it.
    assert _installed_version(python, "torch") == torch_version, (
        f"installing the rest changed torch {torch_version} -> "
        f"{_installed_version(python, 'torch')} in {root}"
    )
    (root / "declared-requirements.txt").write_text("\n".join(spec.requirements) + "\n")
    info = {
        "seconds": round(time.perf_counter() - started, 1),
        "size_mb": _size_mb(root),
        "installer": how,
    }
    (root / ".ready").write_text(json.dumps(info))
    return info


def _base_of(python: Path) -> Path | None:
    """The cached env a layer venv (made by project_env) sits on, if `python` is in one."""
    marker = python.parent.parent / "mlscaffold-base-env"
    return Path(marker.read_text().strip()) if marker.is_file() else None


def _layer(base_python: Path, workdir: Path) -> Path:
    layer = workdir / "venv"
    venv.EnvBuilder(with_pip=False).create(layer)
    base = base_python.parent.parent
    # addsitedir (not a bare path line) so the cached env's own .pth files are processed too.
    (_site_packages(layer) / "_mlscaffold_cached_env.pth").write_text(
        f"import site; site.addsitedir({str(_site_packages(base))!r})\n"
    )
    (layer / "mlscaffold-base-env").write_text(str(base))
    return layer / "bin" / "python"


def project_env(project: Path, workdir: Path) -> Path:
    """Install `project` as its README says, over the env built from its declarations.

    Returns the python to use. Fails if the install had to fetch anything the cached env
    lacks or if any declared requirement is unsatisfied.
    """
    spec = declared(project)
    python = _layer(ensure_env(spec), workdir)
    run_readme(python, project, "install")
    # Everything the install added lies in the layer: only the project may be there.
    added = sorted(
        canonicalize_name(path.name.split("-")[0])
        for path in _site_packages(python.parent.parent).glob("*.dist-info")
    )
    assert added == [canonicalize_name(spec.distribution)], (
        f"the install added {added}: the env built from the declarations lacked them"
    )
    missing = missing_requirements(python, spec.distribution)
    assert not missing, f"{spec.distribution} needs what its env lacks: {missing}"
    return python


_CHECK_REQUIREMENTS = r"""
import importlib.metadata as md, json, re, sys
from packaging.requirements import Requirement
from packaging.version import Version
missing = []
def check(text, extra=None):
    req = Requirement(text)
    if req.marker and not req.marker.evaluate({"extra": extra or ""}):
        return
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        missing.append(text + " (not installed)")
        return
    if req.specifier and not req.specifier.contains(Version(version), prereleases=True):
        missing.append(f"{text} (found {version})")
    for wanted in req.extras:
        for sub in md.requires(req.name) or []:
            if re.search(rf"extra == .{wanted}.", sub):
                check(sub, wanted)
for text in md.requires(sys.argv[1]) or []:
    extra = re.search(r"extra == .(\w+).", text)
    if extra is None or extra.group(1) == "dev":  # the dependencies and the dev extra
        check(text, extra and extra.group(1))
print(json.dumps(missing))
"""


def missing_requirements(python: Path, distribution: str) -> list[str]:
    """The installed project's declared requirements (dev extra included) not satisfied."""
    result = subprocess.run(
        [str(python), "-c", _CHECK_REQUIREMENTS, distribution],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _env(python: Path) -> dict[str, str]:
    """Offline, with the layer's bin (then its cached env's bin) first on PATH."""
    bins = [str(python.parent)]
    base = _base_of(python)
    if base is not None:
        bins.append(str(base / "bin"))
    env = {**os.environ, **OFFLINE_ENV, "PATH": ":".join([*bins, os.environ.get("PATH", "")])}
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    # The README's pip path ("without uv"), into the prepared venv: `make install UV=`, as the
    # README puts it, by environment. test_uv_path.py covers the uv path.
    env["UV"] = ""
    env.pop("PYTHONPATH", None)
    return env


def run_in(
    python: Path, args: list[str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run a command with the project env's python, offline, and return its output."""
    return subprocess.run(
        [str(python), *args],
        cwd=cwd,
        env=_env(python),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# test name -> step -> seconds; printed as a table at the end of the session (conftest.py).
REPORT: dict[str, dict[str, float]] = {}
CURRENT_TEST = {"name": "?"}
# test name -> what a production project's own load test printed (tests/test_serve.py shows
# "service load: ... p50 X ms, p95 Y ms" even when it passes); printed as a table too.
SERVICE_LOAD: dict[str, str] = {}
_SERVICE_LOAD = re.compile(r"^service load: (.+)$", re.M)
# The line is printed while its test runs: under `pytest -v` it splits "name PASSED" in two.
_SERVICE_LOAD_LINE = re.compile(r"\nservice load: [^\n]*\n")


def _record(label: str, seconds: float, timings: dict[str, float] | None) -> None:
    seconds = round(seconds, 1)
    if timings is not None:
        timings[label] = seconds
    REPORT.setdefault(CURRENT_TEST["name"], {})[label] = seconds


def run_step(
    python: Path,
    args: list[str],
    cwd: Path,
    label: str,
    timings: dict[str, float] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """run_in, timed into `timings[label]` and the session report; fails with the output's tail."""
    started = time.perf_counter()
    result = run_in(python, args, cwd, timeout=timeout)
    _record(label, time.perf_counter() - started, timings)
    assert result.returncode == 0, (
        f"{label} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


# The README marks each command a user runs: `<!-- cmd: NAME -->` on the line before a
# fenced bash block; the whole block is that command.
_MARKED_BLOCK = re.compile(r"^<!-- cmd: ([\w-]+) -->\n```bash\n(.*?)^```$", re.M | re.S)


def readme_commands(project: Path) -> dict[str, str]:
    """The README's marked command blocks, by name, exactly as the README shows them."""
    commands: dict[str, str] = {}
    for name, block in _MARKED_BLOCK.findall((project / "README.md").read_text()):
        assert name not in commands, f"two README blocks marked cmd: {name}"
        commands[name] = block
    return commands


def run_readme(
    python: Path,
    project: Path,
    name: str,
    timings: dict[str, float] | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """Run the README's `cmd: NAME` block as written, with bash, in the project directory."""
    commands = readme_commands(project)
    assert name in commands, f"README.md has no `<!-- cmd: {name} -->` block: {sorted(commands)}"
    started = time.perf_counter()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands[name]],
        cwd=project,
        env={**_env(python), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    _record(name, time.perf_counter() - started, timings)
    for load in _SERVICE_LOAD.findall(result.stdout):
        SERVICE_LOAD[CURRENT_TEST["name"]] = load
    result.stdout = _SERVICE_LOAD_LINE.sub("", result.stdout)  # rejoins "name PASSED"
    assert result.returncode == 0, (
        f"README command `{name}` failed:\n{commands[name]}\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failing step prints: exit code non-zero, no traceback; returns it."""
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]
