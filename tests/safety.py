"""Helpers shared by the safety tables (tests/test_safety_*.py): snapshots and CLI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mlscaffold.cli import app

runner = CliRunner()
REPO_ROOT = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every entry under root (links not followed): kind, bytes or link text, mtime."""
    out: dict[str, tuple[str, bytes | str, int]] = {}
    if not os.path.lexists(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            info = os.lstat(path)
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path), info.st_mtime_ns)
            elif path.is_dir():
                out[rel] = ("dir", "", 0)
            else:
                out[rel] = ("file", path.read_bytes(), info.st_mtime_ns)
    return out


def make_sibling(base: Path) -> Path:
    """A directory beside the destination that nothing may touch."""
    sibling = base / "sibling"
    (sibling / "elsewhere").mkdir(parents=True)
    (sibling / "victim.txt").write_text("the user's precious bytes\n")
    (sibling / "elsewhere" / "keep.txt").write_text("keep me\n")
    return sibling


def new(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["new", *args], env=env)


def one_line_error(result) -> str:
    """The stderr of a failed command: exactly one `error:` line, no traceback, no errno."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output and "Errno" not in lines[0], lines[0]
    assert ".mlscaffold-" not in lines[0], f"staging path leaked: {lines[0]}"
    return lines[0]


def run_cli_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    hook: tuple[str, str, int, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """`mlscaffold ARGV` in a fresh process; `hook` = (module, function, nth call, signal)
    sends that signal to the process itself at the nth call of mlscaffold.<module>.<function>."""
    # Ctrl-C as in a terminal: a launcher that runs the suite in the background (`cmd &`,
    # nohup) hands its children SIGINT ignored, and Python then installs no handler for it.
    lines = ["import os, signal, sys", "signal.signal(signal.SIGINT, signal.default_int_handler)"]
    if hook:
        module, function, nth, sig = hook
        lines += [
            f"import mlscaffold.{module} as target_module",
            f"original = target_module.{function}",
            "calls = [0]",
            "def hooked(*a, **k):",
            "    calls[0] += 1",
            f"    if calls[0] == {nth}:",
            f"        os.kill(os.getpid(), signal.{sig})",
            "    return original(*a, **k)",
            f"target_module.{function} = hooked",
        ]
    lines += [
        f"sys.argv = ['mlscaffold', *{argv!r}]",
        "from mlscaffold.cli import main",
        "main()",
    ]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stray_temp(tmpdir: Path) -> list[str]:
    """Folders a run left in its TMPDIR (Copier clones, staging, dry runs)."""
    return sorted(p.name for p in tmpdir.iterdir() if not re.match(r"^pytest", p.name))
