"""Side environments a generated project documents beside its main one, cached like the others.

- A Python venv built from a requirements file the project ships for a tool that cannot share
  the main environment (tf-tflite browser: `requirements-tfjs.txt`, the TF.js converter on an
  older TensorFlow). It is pinned by its own constraints file here (constraints-tfjs.txt: the
  main pins hold another TensorFlow) and cached under ~/.cache/mlscaffold/envs/, keyed by a
  hash of the requirements file, the constraints, the recipe and the Python version. The
  project gets the README's `.venv-tfjs` as a layer over it, with the project installed
  `--no-deps` as the README says.
- npm: the README's `npm ci` runs as written, with npm's cache under
  ~/.cache/mlscaffold/npm/<hash of package.json + package-lock.json>, offline-first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

from tests.integration import stack_env

TFJS_CONSTRAINTS = Path(__file__).with_name("constraints-tfjs.txt")
NPM_CACHE = stack_env.CACHE_ROOT / "npm"
RECIPE = "side-v1"


def side_env_dir(prefix: str, requirements: Path, constraints: Path) -> Path:
    digest = hashlib.sha256(RECIPE.encode())
    digest.update(requirements.read_bytes())
    digest.update(constraints.read_bytes())
    digest.update(f"{sys.version_info[:2]}{sysconfig.get_platform()}".encode())
    return stack_env.ENVS / f"{prefix}-{digest.hexdigest()[:16]}"


def ensure_side_env(prefix: str, requirements: Path, constraints: Path) -> Path:
    """The cached env's python for `requirements` (pinned by `constraints`), built if missing."""
    root = side_env_dir(prefix, requirements, constraints)
    ready = root / ".ready"
    stack_env.ENVS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(stack_env.ENVS / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            ready.touch()
            info = {**json.loads(ready.read_text()), "action": "reused"}
            info["seconds"] = round(time.perf_counter() - started, 1)
        else:
            print(f"building {root} from {requirements.name}", flush=True)
            venv.EnvBuilder(clear=True, with_pip=True).create(root)
            python = root / "bin" / "python"
            uv = stack_env._uv()
            args = ["-r", str(requirements), "-c", str(constraints)]
            if uv is not None:
                stack_env._run([uv, "pip", "install", "--quiet", "--python", str(python), *args])
            else:
                stack_env._pip(python, "install", *args)
            shutil.copy2(requirements, root / "side-requirements.txt")
            info = {
                "seconds": round(time.perf_counter() - started, 1),
                "size_mb": stack_env._size_mb(root),
                "installer": "uv" if uv else "pip",
            }
            ready.write_text(json.dumps(info))
            info["action"] = "built"
    row = stack_env.ENV_REPORT.setdefault(root.name, {**info, "projects": []})
    row["projects"].append(requirements.parent.name)
    return root / "bin" / "python"


def tfjs_venv(project: Path) -> Path:
    """The project's `.venv-tfjs` (README: Browser), over the cached converter env; its python.

    The layer holds only the project itself, installed with `--no-deps` as the README does.
    """
    base = ensure_side_env("tfjs", project / "requirements-tfjs.txt", TFJS_CONSTRAINTS)
    layer = project / ".venv-tfjs"
    venv.EnvBuilder(with_pip=False).create(layer)
    site = stack_env._site_packages(layer)
    (site / "_mlscaffold_cached_env.pth").write_text(
        f"import site; site.addsitedir({str(stack_env._site_packages(base.parent.parent))!r})\n"
    )
    python = layer / "bin" / "python"
    uv = stack_env._uv()
    install = ["--no-deps", "-e", str(project)]
    if uv is not None:
        stack_env._run([uv, "pip", "install", "--quiet", "--python", str(python), *install])
    else:
        stack_env._run([str(base), "-m", "pip", "install", "-q", "--prefix", str(layer), *install])
    return python


def npm_env(web: Path) -> dict[str, str]:
    """Environment for the README's npm commands: a cache per package.json + lock, no audit."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((web / name).read_bytes())
    cache = NPM_CACHE / digest.hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    return {
        "npm_config_cache": str(cache),
        "npm_config_prefer_offline": "true",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }


def have_node() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def run_npm(web: Path, *args: str) -> subprocess.CompletedProcess:
    """`npm ARGS` in `web` with npm_env (used where no README block is run)."""
    return subprocess.run(
        ["npm", *args],
        cwd=web,
        env={**os.environ, **npm_env(web)},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
