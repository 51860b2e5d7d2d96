"""Errors the CLI turns into one clear line and a documented exit code (DESIGN.md)."""

from __future__ import annotations


class MlscaffoldError(Exception):
    """Anything that went wrong; exit code 1."""

    exit_code = 1


class UsageError(MlscaffoldError):
    """Bad input or usage: nothing was written; exit code 2."""

    exit_code = 2


class ConflictError(MlscaffoldError):
    """An update finished but left conflicts; exit code 3."""

    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP: what was under way is undone; exit code 130."""

    exit_code = 130
