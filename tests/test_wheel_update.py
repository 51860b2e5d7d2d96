"""A wheel of this repo, installed in a fresh venv, makes a project that updates later.

The installed mlscaffold renders from its bundled (non-git) copy of the template and records
`_src_path` = the canonical source (here `$MLSCAFFOLD_TEMPLATE_URL`, a local git repo standing
in for the public one) and `_commit` = `v{version}`. The repo's tag `v{version}` holds the
same template, the next tag a change; the project is then updated by plain `copier update`
and, in a twin project, by the installed `mlscaffold.lifecycle.update`.

Offline: the wheel is built with --no-build-isolation (hatchling from the dev venv), and the
fresh venv borrows copier, typer, jinja2 and pyyaml from the dev venv through a .pth line
placed *after* its own site-packages (`.pth` files there are not run, so the dev venv's
editable mlscaffold is not picked up).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlscaffold tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "mlscaffold tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}
RELEASE_LINE = "Next release: a line every project gets."

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def run(*cmd: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def git(cwd: Path, *args: str) -> str:
    return run("git", "-c", "init.defaultBranch=main", *args, cwd=cwd)


def snapshot_repo(dest: Path) -> str:
    """Copy what the wheel is built from, once, so template repo and wheel hold the same bytes."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "copier.yml", "LICENSE"):
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, dest / name)
    for name in ("src", "templates"):
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=ignore)
    init = (dest / "src/mlscaffold/__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__ = "([^"]+)"', init)[1]


def next_version(version: str) -> str:
    from packaging.version import Version

    major, minor = Version(version).release[:2]
    return f"{major}.{minor + 1}.0"


def install_fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--target",
        site,
        wheel,
    )
    # dependencies (copier, typer, jinja2, pyyaml, ...) from the dev venv, after our own
    (site / "zz_dev_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return python


def tree(path: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(path)): f.read_bytes()
        for f in path.rglob("*")
        if f.is_file() and ".git" not in f.relative_to(path).parts
    }


SCRIPT = r"""
import json, sys, time
from pathlib import Path
import mlscaffold
from mlscaffold import lifecycle, scaffold, sources
from mlscaffold.sources import OrgConfig

action, dest = sys.argv[1], Path(sys.argv[2])
answers = {"project_name": "demo", "task": "tabular-classification", "hardware": "cpu"}
if action == "new":          # what `mlscaffold new` does
    made = lifecycle.new_project(dest, answers, org=OrgConfig())
    print(json.dumps({"file": mlscaffold.__file__, "bundled": str(scaffold.bundled_template()),
                      "src_path": made.src_path, "commit": made.commit}))
elif action == "render":     # the two steps, by hand
    scaffold.render(dest, answers)
    sources.record_origin(dest, sources.canonical_source(), sources.release_tag())
    print(json.dumps({}))
elif action == "update":
    t = time.perf_counter()
    result = lifecycle.update(dest)
    print(json.dumps({**result.to_dict(), "seconds": time.perf_counter() - t}))
"""


def test_installed_wheel_makes_projects_that_update(tmp_path: Path):
    started = time.perf_counter()
    src = tmp_path / "src"
    version = snapshot_repo(src)
    newer = next_version(version)

    # the public template repo stand-in: tag v{version} = the bundled copy, then a release
    template = tmp_path / "mlscaffold-template"
    template.mkdir()
    shutil.copy2(src / "copier.yml", template / "copier.yml")
    shutil.copytree(src / "templates", template / "templates")
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", f"release {version}")
    git(template, "tag", f"v{version}")
    with (template / "templates/tabular/README.md.jinja").open("a", encoding="utf-8") as f:
        f.write(f"\n{RELEASE_LINE}\n")
    git(template, "commit", "-qam", f"release {newer}")
    git(template, "tag", f"v{newer}")

    dist = tmp_path / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        dist,
        src,
    )
    (wheel,) = dist.glob("mlscaffold-*.whl")
    python = install_fresh_venv(tmp_path, wheel)
    script = tmp_path / "drive.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {
        "MLSCAFFOLD_TEMPLATE_URL": str(template),
        "MLSCAFFOLD_CONFIG": "",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    work = tmp_path / "work"
    work.mkdir()

    info = json.loads(run(python, script, "new", work / "a" / "demo", cwd=work, env=env))
    assert info["file"].startswith(str(tmp_path / "venv")), info  # the installed package
    assert info["bundled"].endswith("mlscaffold/_template"), info  # renders its bundled copy
    assert (info["src_path"], info["commit"]) == (str(template), f"v{version}")
    run(python, script, "render", work / "b" / "demo", cwd=work, env=env)

    for project in (work / "a" / "demo", work / "b" / "demo"):
        answers = (project / ".copier-answers.yml").read_text(encoding="utf-8")
        assert f"_commit: v{version}\n_src_path: {template}\n" in answers
        readme = project / "README.md"
        readme.write_text("Our intro.\n" + readme.read_text(encoding="utf-8"), "utf-8")
        git(project, "init", "-q")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "generated, then edited")

    # plain `copier update`, no mlscaffold involved
    t = time.perf_counter()
    run(
        python,
        "-m",
        "copier",
        "update",
        "--defaults",
        "--skip-answered",
        "--quiet",
        cwd=work / "a" / "demo",
        env=env,
    )
    copier_seconds = time.perf_counter() - t
    # the installed mlscaffold's update
    t = time.perf_counter()
    result = json.loads(run(python, script, "update", work / "b" / "demo", cwd=work, env=env))
    ours_seconds = time.perf_counter() - t

    assert (result["old"], result["new"], result["conflicts"]) == (f"v{version}", f"v{newer}", [])
    for project in (work / "a" / "demo", work / "b" / "demo"):
        text = (project / "README.md").read_text(encoding="utf-8")
        assert text.startswith("Our intro.\n") and RELEASE_LINE in text
        assert f"_commit: v{newer}\n" in (project / ".copier-answers.yml").read_text("utf-8")
    assert tree(work / "a" / "demo") == tree(work / "b" / "demo")
    print(
        f"\ncopier update {copier_seconds:.2f} s (process), mlscaffold update "
        f"{ours_seconds:.2f} s (process; {result['seconds']:.2f} s in update()), "
        f"whole test {time.perf_counter() - started:.1f} s"
    )
