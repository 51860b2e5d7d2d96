"""Every answer is data: strict checks before anything is rendered.

Free-text answers land in Python, TOML, YAML, Markdown and CI files. The templates escape
them for each language (templates/_shared/escape.jinja); what no escape can carry (line
breaks, control and invisible direction characters, text that is not valid Unicode) is
refused here with one line naming the answer. copier.yml holds the same rules as Jinja
validators for plain `copier copy` (tests/test_safety_answers.py walks both).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from mlscaffold.errors import UsageError

# Free-text answers and the longest value each may have.
FREE_TEXT = {
    "description": 1000,
    "author_name": 200,
    "author_email": 200,
    "organization": 200,
    "package_index": 2000,
}

# Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# C0/C1 controls, DEL, line/paragraph separators, bidi controls, non-characters.
# The same class is the Jinja validator's pattern in templates/_questions/common.yml.
FORBIDDEN_CHARS = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]"

# http(s) URL of RFC 3986 characters, without the ones CI files would interpret ({ } for
# GitHub expressions) or that need quoting (" \ ` and whitespace).
PACKAGE_INDEX = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")

# A git tag, branch or commit: never an option (`--upload-pack=...`), never whitespace.
GIT_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+@-]*")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def check_free_text(key: str, value: str) -> None:
    """Refuse what no escape in the generated files can carry."""
    limit = FREE_TEXT.get(key, 1000)
    if len(value) > limit:
        raise UsageError(f"answer {key!r} is {len(value)} characters long; the limit is {limit}")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise UsageError(f"answer {key!r} is not valid UTF-8 text")
        if char in "\n\r\u2028\u2029\x85":
            raise UsageError(f"answer {key!r} must be one line (it contains a line break)")
        if category == "Cc" or char in _BIDI or char in "\ufffe\uffff":
            raise UsageError(
                f"answer {key!r} contains the invisible character U+{ord(char):04X}; "
                "use printable text"
            )


def check_package_index(value: str) -> None:
    if value and not PACKAGE_INDEX.fullmatch(value):
        raise UsageError(
            f"package_index {value!r} must be an http(s) URL without spaces, quotes, "
            "backslashes or braces"
        )


def check_ref(ref: str | None) -> None:
    if ref is not None and (not GIT_REF.fullmatch(ref) or ".." in ref):
        raise UsageError(f"--vcs-ref {ref!r} is not a git tag, branch or commit name")


def check_source(source: str | None) -> None:
    if source is not None and (source.startswith("-") or any(c in source for c in "\n\r\0")):
        raise UsageError(f"--template {source!r} is not a path or a git URL")


def as_bool(key: str, value: Any) -> bool:
    """A boolean answer: true/false (yes/no, on/off, 1/0), nothing else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"answer {key!r} must be true or false, not {value!r}")


def as_text(key: str, value: Any, origin: str = "") -> str:
    """A text answer. Whole numbers read as text; other types are refused (YAML's `3.12`
    is a float that would lose its digits, `no` a boolean, `~` nothing)."""
    where = f" in {origin}" if origin else ""
    if isinstance(value, str):
        return value
    if value is None:
        raise UsageError(f"answer {key!r}{where} is empty (null); give it a value or remove it")
    if isinstance(value, bool):
        raise UsageError(
            f"answer {key!r}{where} is the boolean {value}; quote it if you meant text "
            f'(e.g. {key}: "{str(value).lower()}")'
        )
    if isinstance(value, int):
        return str(value)
    raise UsageError(
        f"answer {key!r}{where} is the number {value!r}; quote it so it stays text "
        f'({key}: "{value}")'
    )


def coerce_answers(
    data: dict[str, Any], questions: dict[str, dict[str, Any]], origin: str = ""
) -> dict[str, Any]:
    """Each answer as its question's type, checked; private keys (`_src_path`) refused."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("_"):
            raise UsageError(f"answer {key!r} is Copier's own bookkeeping, not a question; drop it")
        kind = questions.get(key, {}).get("type", "str")
        if kind == "bool":
            out[key] = as_bool(key, value)
            continue
        text = as_text(key, value, origin)
        if key in FREE_TEXT:
            check_free_text(key, text)
        if key == "package_index":
            check_package_index(text)
        out[key] = text
    return out
