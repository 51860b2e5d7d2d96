"""The template as its users' own tooling sees it: pytest-copie's `copie` fixture (plain Copier)."""

from __future__ import annotations


def test_copie_renders_the_default_project(copie):
    result = copie.copy(extra_answers={"project_name": "via-copie"})
    assert result.exit_code == 0, result.exception
    assert result.exception is None
    assert result.project_dir.is_dir()
    assert (result.project_dir / "src" / "via_copie" / "train.py").is_file()
    assert result.answers["stack"] == "tabular"


def test_copie_reports_a_refused_combination(copie):
    result = copie.copy(
        extra_answers={"project_name": "phone", "task": "tabular-regression", "hardware": "mobile"}
    )
    assert result.exit_code != 0
    assert "deployment rule" in str(result.exception)
