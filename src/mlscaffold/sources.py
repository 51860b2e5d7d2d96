"""Where the template comes from: the bundled copy, a git URL or path, or the org config.

A wheel-installed mlscaffold renders from its bundled (non-git) copy of the template, so
Copier cannot record where the template lives. After rendering, `record_origin` writes into
the project's `.copier-answers.yml` the *canonical* source (`_src_path`: an absolute path or
a URL) and the git tag whose tree equals the bundled copy (`_commit: v{__version__}`): from
then on `copier update` and `mlscaffold update` re-render the old version from that tag and
merge the new one, exactly as if the project had been made from the git repo.

Nothing here imports Copier: `mlscaffold --help` stays fast.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlscaffold import __version__
from mlscaffold.errors import UsageError

DEFAULT_TEMPLATE_URL = "https://github.com/mlscaffold/mlscaffold.git"
TEMPLATE_URL_ENV = "MLSCAFFOLD_TEMPLATE_URL"
CONFIG_ENV = "MLSCAFFOLD_CONFIG"
ANSWERS_FILE = ".copier-answers.yml"

# A URL or a Copier/git shortcut, as opposed to a local path.
_URL_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://|git@|gh:|gl:|[\w.-]+@[\w.-]+:)")


def release_tag(version: str = __version__) -> str:
    """The git tag of a release: template version = package version = PEP 440 tag `v{version}`."""
    return f"v{version}"


def is_url(source: str) -> bool:
    """True for a git URL or shortcut (https://, ssh://, file://, git@host:, gh:, gl:)."""
    return bool(_URL_RE.match(source))


def normalize_source(source: str | os.PathLike[str], *, base: Path | None = None) -> str:
    """A template source Copier can reach from anywhere: URLs unchanged, paths made absolute.

    A relative `_src_path` breaks `copier update` run from inside the project, so local paths
    are always recorded absolute (relative ones resolved against `base`, else the cwd).
    """
    text = os.fspath(source)
    if is_url(text):
        return text
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return str(path.resolve())


# ---------------------------------------------------------------------------------------------
# org config


@dataclass(frozen=True)
class OrgConfig:
    """An organisation's starter-kit settings (all optional)."""

    template: str | None = None  # git URL or absolute path of the org's template (a fork)
    vcs_ref: str | None = None  # tag/branch of `template` to render; default: newest tag
    defaults: dict[str, Any] = field(default_factory=dict)  # answers users may override
    locked: dict[str, Any] = field(default_factory=dict)  # answers the org fixes
    path: Path | None = None  # the file it was read from, if any


_KEYS = {"template": str, "vcs_ref": str, "defaults": dict, "locked": dict}


def config_path() -> Path:
    """`$MLSCAFFOLD_CONFIG`, else `$XDG_CONFIG_HOME/mlscaffold/config.yml` (~/.config by default)."""
    explicit = os.environ.get(CONFIG_ENV, "").strip()  # empty counts as unset
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base).expanduser() / "mlscaffold" / "config.yml"


def load_org_config(path: Path | None = None) -> OrgConfig:
    """Read the org config; an absent default file gives an empty config.

    A file named by `$MLSCAFFOLD_CONFIG` (or `path`) must exist. Bad YAML, an unknown top-level
    key or a value of the wrong type raises UsageError with one line naming the file.
    """
    import yaml

    explicit = path is not None or bool(os.environ.get(CONFIG_ENV, "").strip())
    path = path if path is not None else config_path()
    if not path.is_file():
        if explicit:
            raise UsageError(f"org config {path} does not exist (set by {CONFIG_ENV})")
        return OrgConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"org config {path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UsageError(f"org config {path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        return OrgConfig(path=path)
    if not isinstance(raw, dict):
        raise UsageError(f"org config {path}: expected a mapping of keys {sorted(_KEYS)}")
    unknown = sorted(str(k) for k in raw if k not in _KEYS)
    if unknown:
        raise UsageError(
            f"org config {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    values: dict[str, Any] = {}
    for key, kind in _KEYS.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, kind):
            expected = "a mapping of answers" if kind is dict else "a string"
            raise UsageError(f"org config {path}: {key!r} must be {expected}")
        if kind is dict:
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise UsageError(f"org config {path}: {key!r} has a non-string key {bad[0]!r}")
            bad = [k for k, v in value.items() if isinstance(v, (dict, list))]
            if bad:
                raise UsageError(f"org config {path}: {key}.{bad[0]} must be a single value")
            for name, answer in value.items():
                if answer is None:
                    raise UsageError(
                        f"org config {path}: {key}.{name} is empty (null); "
                        "give it a value or remove the line"
                    )
                if isinstance(answer, float):  # YAML reads 3.10 as 3.1
                    raise UsageError(
                        f"org config {path}: {key}.{name} is the number {answer!r}; "
                        f'quote it so it stays text ({name}: "{answer}")'
                    )
        values[key] = value
    if "template" in values:
        values["template"] = normalize_source(values["template"], base=path.parent)
    return OrgConfig(path=path, **values)


def canonical_source(org: OrgConfig | None = None) -> str:
    """Where updates come from: `$MLSCAFFOLD_TEMPLATE_URL`, else the org template, else upstream."""
    env = os.environ.get(TEMPLATE_URL_ENV, "").strip()
    if env:
        return normalize_source(env)
    if org is not None and org.template:
        return org.template
    return DEFAULT_TEMPLATE_URL


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    return str(a) == str(b)


def merge_answers(org: OrgConfig, user: dict[str, Any]) -> dict[str, Any]:
    """Org defaults, overridden by the user's answers, overridden by the org's locked answers.

    A user answer that contradicts a locked one is a UsageError naming the key (values compare
    as text, so `--data python_version=3.11` matches a locked `"3.11"`).
    """
    for key, value in user.items():
        if key in org.locked and not _same(value, org.locked[key]):
            where = f" ({org.path})" if org.path else ""
            raise UsageError(
                f"answer {key!r} is locked to {org.locked[key]!r} by the org config{where}; "
                f"drop {key}={value}"
            )
    return {**org.defaults, **user, **org.locked}


# ---------------------------------------------------------------------------------------------
# what `new` renders from, and what it records


@dataclass(frozen=True)
class TemplatePlan:
    """How `mlscaffold new` gets its template.

    `render_from` is None for the bundled copy; then `record` = (`_src_path`, `_commit`) must be
    written with `record_origin` after rendering. A git `render_from` is recorded by Copier.
    """

    render_from: str | None
    vcs_ref: str | None
    record: tuple[str, str] | None


def plan_template(
    template: str | os.PathLike[str] | None = None,
    vcs_ref: str | None = None,
    org: OrgConfig | None = None,
) -> TemplatePlan:
    """`--template` > the org config's template > the bundled copy (recorded as canonical).

    `$MLSCAFFOLD_TEMPLATE_URL` names a mirror of the *official* template (its tag `v{version}`
    equals the bundled copy); an org fork has other content, so it is rendered from its source.
    """
    if template is not None:
        return TemplatePlan(normalize_source(template), vcs_ref, None)
    if org is not None and org.template:
        return TemplatePlan(org.template, vcs_ref or org.vcs_ref, None)
    if vcs_ref is not None and vcs_ref not in (release_tag(), __version__):
        # another release of the official template: render it from its git source
        return TemplatePlan(canonical_source(org), vcs_ref, None)
    return TemplatePlan(None, None, (canonical_source(org), release_tag()))


# ---------------------------------------------------------------------------------------------
# .copier-answers.yml


def read_answers(project: Path) -> dict[str, Any]:
    """The project's recorded answers (UsageError when there is no readable answers file)."""
    import yaml

    path = project / ANSWERS_FILE
    if not path.is_file():
        raise UsageError(f"{project} is not a generated project (no {ANSWERS_FILE})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read it ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of answers")
    return data


def _scalar(value: str) -> str:
    import yaml

    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("\n...")
        .strip()
    )


def record_origin(project: Path, src_path: str, commit: str) -> None:
    """Set `_src_path` and `_commit` in the project's answers file; leave all else as it was.

    Copier writes the file as sorted YAML (`_commit` before `_src_path`, both before the
    answers); the two lines are written where Copier would put them, so the file is the same,
    byte for byte, as one rendered from `src_path` at `commit`.
    """
    import yaml

    path = project / ANSWERS_FILE
    before = read_answers(project)
    src_path = normalize_source(src_path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    keep = [ln for ln in lines if not ln.startswith(("_src_path:", "_commit:"))]
    # the first top-level key line: the recorded keys go before it (header comments stay above)
    at = next(
        (i for i, ln in enumerate(keep) if ln[:1] not in ("#", " ", "\n", "-", "") and ":" in ln),
        len(keep),
    )
    new = [f"_commit: {_scalar(commit)}\n", f"_src_path: {_scalar(src_path)}\n"]
    out = "".join(keep[:at] + new + keep[at:])
    after = yaml.safe_load(out)
    expected = {**before, "_src_path": src_path, "_commit": commit}
    if after != expected:  # a layout this line edit does not understand: fail loudly
        raise UsageError(f"{path}: could not record the template origin safely")
    path.write_text(out, encoding="utf-8")
