"""Issue 12, class "writes outside the destination" and "new into . or a kept directory".

Each case builds a destination shape, runs `mlscaffold new`, and asserts the exit code, one
line on stderr when it fails, and that the sibling directory beside the destination (where
links point) is byte-for-byte what it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.safety import make_sibling, new, one_line_error, snapshot


def _link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


# name -> (build(dest), --existing, expected exit, text the error must contain)
CASES = {
    "file link, overwrite": (
        lambda d: _link(d / "README.md", "../sibling/victim.txt"),
        "overwrite",
        0,
        None,
    ),
    "file link, keep": (lambda d: _link(d / "README.md", "../sibling/victim.txt"), "keep", 0, None),
    "dangling link, overwrite": (
        lambda d: _link(d / "README.md", "../sibling/created-by-link.txt"),
        "overwrite",
        0,
        None,
    ),
    "dangling link, keep": (
        lambda d: _link(d / "LICENSE", "../sibling/created-by-link.txt"),
        "keep",
        0,
        None,
    ),
    "absolute link, overwrite": (
        lambda d: _link(d / "Makefile", str(d.parent / "sibling" / "victim.txt")),
        "overwrite",
        0,
        None,
    ),
    "linked src dir, keep": (
        lambda d: _link(d / "src", "../sibling/elsewhere"),
        "keep",
        2,
        "symbolic link",
    ),
    "linked src dir, overwrite": (
        lambda d: _link(d / "src", "../sibling/elsewhere"),
        "overwrite",
        2,
        "symbolic link",
    ),
    "linked tests dir inside dest": (
        lambda d: ((d / "mine").mkdir(), _link(d / "tests", "mine")),
        "overwrite",
        2,
        "symbolic link",
    ),
    "linked configs dir, dangling": (
        lambda d: _link(d / "configs", "../sibling/nowhere"),
        "keep",
        2,
        "symbolic link",
    ),
    "user file named src": (lambda d: (d / "src").write_text("mine"), "keep", 2, "is a file"),
    "directory where a file goes": (
        lambda d: (d / "README.md").mkdir(),
        "overwrite",
        2,
        "is a directory",
    ),
    "answers file of another template": (
        lambda d: (d / ".copier-answers.yml").write_text("_src_path: gh:someone/else\n"),
        "keep",
        2,
        "already holds a generated project",
    ),
    "flow-style answers file": (
        lambda d: (d / ".copier-answers.yml").write_text("{_commit: v1, x: 1}\n"),
        "overwrite",
        2,
        "already holds a generated project",
    ),
    "non-empty, default refuse": (
        lambda d: (d / "notes.txt").write_text("mine"),
        "refuse",
        2,
        "not empty",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_existing_destination_shapes(tmp_path: Path, case: str) -> None:
    build, existing, code, text = CASES[case]
    sibling = make_sibling(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "notes.txt").write_text("the user's own notes\n")
    build(dest)
    before_sibling, before_dest = snapshot(sibling), snapshot(dest)
    result = new(str(dest), "-y", "--existing", existing)
    assert result.exit_code == code, result.output
    assert snapshot(sibling) == before_sibling, "something outside the destination changed"
    assert not (sibling / "created-by-link.txt").exists()
    if code:
        assert text in one_line_error(result)
        assert snapshot(dest) == before_dest, "a refused run changed the destination"
        return
    after = snapshot(dest)
    assert after["notes.txt"] == before_dest["notes.txt"]
    for rel, (kind, _content, _mtime) in before_dest.items():
        if kind != "link":
            continue
        if existing == "keep":  # the user's link is the user's file
            assert after[rel] == before_dest[rel]
        else:  # replaced as a link: now a regular file of the template's
            assert after[rel][0] == "file"


def test_hard_link_is_replaced_not_written_through(tmp_path: Path) -> None:
    sibling = make_sibling(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    os.link(sibling / "victim.txt", dest / "README.md")
    before = snapshot(sibling)
    result = new(str(dest), "-y", "--existing", "overwrite")
    assert result.exit_code == 0, result.output
    assert (sibling / "victim.txt").read_text() == "the user's precious bytes\n"
    assert snapshot(sibling)["victim.txt"][1] == before["victim.txt"][1]
    assert (dest / "README.md").read_text().startswith("# dest")


# name -> (build(base) -> path given to `new`, extra args, exit code, error text)
TARGETS = {
    "dest is a dangling link": (
        lambda b: (_link(b / "dl", "sibling/ghost"), b / "dl")[1],
        [],
        2,
        "symbolic link",
    ),
    "dest is a file": (lambda b: ((b / "f").write_text("x"), b / "f")[1], [], 2, "not a directory"),
    "dest under a file": (
        lambda b: ((b / "f").write_text("x"), b / "f" / "proj")[1],
        [],
        2,
        "not a directory",
    ),
    "symlink loop in the path": (
        lambda b: (_link(b / "loop", "loop"), b / "loop" / "proj")[1],
        [],
        2,
        "symbolic links",
    ),
    "name longer than the file system allows": (
        lambda b: b / ("n" * 300),
        ["-d", "project_name=short"],
        2,
        "too long",
    ),
    "project name too long": (lambda b: b / ("p" * 120), [], 2, "at most 100"),
}


@pytest.mark.parametrize("case", list(TARGETS))
def test_unusable_destinations(tmp_path: Path, case: str) -> None:
    build, extra, code, text = TARGETS[case]
    sibling = make_sibling(tmp_path)
    target = build(tmp_path)
    before_base = snapshot(tmp_path)
    result = new(str(target), "-y", *extra)
    assert result.exit_code == code, result.output
    assert text in one_line_error(result)
    assert snapshot(tmp_path) == before_base and snapshot(sibling) == snapshot(sibling)


def test_long_directory_name_with_a_short_project_name_works(tmp_path: Path) -> None:
    # 250 characters fit the file system; the staging folder must not make it longer
    dest = tmp_path / ("d" * 250)
    result = new(str(dest), "-y", "-d", "project_name=short")
    assert result.exit_code == 0, result.output
    assert (dest / "pyproject.toml").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_new_dot_in_an_empty_directory_is_a_normal_updatable_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "churn-model"
    here.mkdir()
    monkeypatch.chdir(here)
    result = new(".", "-y")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((here / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "churn-model" and answers["_commit"].startswith("v")
    assert [p.name for p in tmp_path.iterdir()] == ["churn-model"], "staging left beside it"


def test_new_dot_refuses_a_non_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "mine.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = new(".", "-y")
    assert result.exit_code == 2
    assert "not empty" in one_line_error(result)
    assert snapshot(tmp_path) == before


def test_placing_fails_midway_and_everything_is_put_back(tmp_path, monkeypatch):
    """A write that fails half-way through a merge undoes the files already placed."""
    from mlscaffold import placement

    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "README.md").write_text("mine\n")
    before = snapshot(dest)
    moves = {"n": 0}
    real_move = placement._move

    def failing_move(source, target):
        moves["n"] += 1
        if moves["n"] == 6:
            raise OSError(28, "No space left on device")
        real_move(source, target)

    monkeypatch.setattr(placement, "_move", failing_move)
    result = new(str(dest), "-y", "--existing", "overwrite")
    assert result.exit_code == 1 and "no space left" in one_line_error(result)
    assert snapshot(dest) == before


def test_an_undo_that_cannot_restore_keeps_the_originals_and_says_where(tmp_path, monkeypatch):
    """If putting a user's file back fails too, the original is kept, never deleted."""
    from mlscaffold import placement

    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "README.md").write_text("mine\n")
    real_move = placement._move
    state = {"readme_placed": False}

    def failing_move(source, target):
        if "backups" in source.parts:  # the undo's restore of README.md
            raise OSError(13, "Permission denied")
        if state["readme_placed"]:  # the next file after README.md: the disk is full
            raise OSError(28, "No space left on device")
        real_move(source, target)
        state["readme_placed"] = target == dest / "README.md"

    monkeypatch.setattr(placement, "_move", failing_move)
    result = new(str(dest), "-y", "--existing", "overwrite")
    line = one_line_error(result)
    assert result.exit_code == 1 and "could not be put back" in line and "README.md" in line
    kept = [p for p in dest.glob("mlscaffold-originals-*/README.md")]
    assert len(kept) == 1 and kept[0].read_text() == "mine\n"
    assert str(kept[0].parent) in line
    assert not list(dest.glob(".mlscaffold-*")), "staging removed once the originals moved out"
