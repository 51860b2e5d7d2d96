"""Layer 2: every command, error path and exit code, through Typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mlscaffold import __version__, rules
from mlscaffold.cli import app

runner = CliRunner()
# the menu number of tabular-classification (new tasks shift it)
TABULAR = rules.answer_values()["task"].index("tabular-classification") + 1


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def snapshot(path):
    return {p: p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"mlscaffold {__version__}"


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("new", "recommend", "stacks"):
        assert command in result.output


def test_recommend_json_for_text_on_gpu():
    result = invoke("recommend", "--task", "text-classification", "--hardware", "gpu", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["stack"] == "hf-finetune"
    assert data["reasons"] and len(data["alternatives"]) == 3


@pytest.mark.parametrize(
    ("task", "hardware", "stack"),
    [
        ("text-classification", "gpu", "hf-finetune"),
        ("image-classification", "mobile", "tf-tflite"),
        ("custom", "gpu", "torch-lightning"),
        ("tabular-regression", "cpu", "tabular"),
    ],
)
def test_recommend_names_every_stack(task, hardware, stack):
    result = invoke("recommend", "--task", task, "--hardware", hardware, "--json")
    assert json.loads(result.output)["stack"] == stack


def test_recommend_clustering_picks_scikit_learn_in_the_tabular_stack():
    result = invoke("recommend", "--task", "tabular-clustering", "--json")
    data = json.loads(result.output)
    assert (data["stack"], data["options"]) == ("tabular", {"tabular_model": "sklearn"})
    assert any("HDBSCAN" in reason for reason in data["reasons"])


def test_recommend_table_shows_reasons_and_runners_up():
    result = invoke("recommend", "--task", "text-classification", "--hardware", "mobile")
    assert result.exit_code == 0
    assert "Recommended stack: tf-tflite" in result.output
    assert "deployment rule wins" in result.output
    for stack in rules.stacks():
        assert stack in result.output


def test_recommend_refusal_is_one_line_exit_2():
    result = runner.invoke(
        app, ["recommend", "--task", "tabular-classification", "--hardware", "mobile"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_recommend_unknown_value_exit_2():
    result = runner.invoke(app, ["recommend", "--hardware", "quantum"])
    assert result.exit_code == 2 and "choose one of" in result.stderr


def test_stacks_json_lists_all_four():
    result = invoke("stacks", "--json")
    data = json.loads(result.output)
    assert [s["stack"] for s in data] == list(rules.stacks())
    assert all(s["tasks"] and s["hardware"] and s["generates"] for s in data)
    assert next(s for s in data if s["stack"] == "tabular")["available"]


def test_stacks_table():
    result = invoke("stacks")
    assert result.exit_code == 0 and "tabular" in result.output


def test_stacks_reads_well_at_80_columns():
    from mlscaffold import rules

    result = runner.invoke(app, ["stacks"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name, info in rules.stacks().items():
        assert any(line.startswith(f"{name}: ") for line in lines), name
        for task in info["tasks"]:  # never cut or hyphen-broken
            assert task in result.output, task
    assert len(lines) < 40


def test_new_with_defaults_generates_the_tabular_project(tmp_path):
    dest = tmp_path / "demo"
    result = invoke("new", str(dest), "--defaults")
    assert result.exit_code == 0, result.output
    assert "Stack: tabular" in result.output and "make test" in result.output
    answers = (dest / ".copier-answers.yml").read_text()
    assert "stack: tabular" in answers and "tabular_model: xgboost" in answers
    assert (dest / "src" / "demo" / "train.py").is_file()


def test_new_dry_run_lists_files_and_writes_nothing(tmp_path):
    dest = tmp_path / "demo"
    result = invoke("new", str(dest), "-y", "--dry-run")
    assert result.exit_code == 0
    assert "pyproject.toml" in result.output and "src/demo/train.py" in result.output
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_new_data_sets_answers(tmp_path):
    dest = tmp_path / "demo"
    result = invoke(
        "new",
        str(dest),
        "-y",
        "--data",
        "license=Apache-2.0",
        "--data",
        "tabular_model=lightgbm",
        "--data",
        "ci=gitlab",
    )
    assert result.exit_code == 0, result.output
    assert "Apache License" in (dest / "LICENSE").read_text()
    assert "lightgbm" in (dest / "pyproject.toml").read_text()
    assert (dest / ".gitlab-ci.yml").is_file() and not (dest / ".github").exists()


def test_new_stack_override_warns_and_uses_the_chosen_stack(tmp_path):
    args = ["new", str(tmp_path / "demo"), "-y", "--task", "image-classification"]
    result = runner.invoke(app, [*args, "--hardware", "gpu", "--stack", "tf-tflite", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "--stack tf-tflite overrides the rules, which recommend torch-lightning" in result.stderr
    assert "Stack: tf-tflite" in result.output
    assert "src/demo/export.py" in result.output


def test_new_stack_that_cannot_serve_the_task_is_exit_2(tmp_path):
    args = ["new", str(tmp_path / "demo"), "-y", "--task", "image-classification"]
    result = runner.invoke(app, [*args, "--hardware", "tpu", "--stack", "tabular"])
    assert result.exit_code == 2
    assert "tabular does not generate image-classification" in result.stderr
    assert list(tmp_path.iterdir()) == []


BAD_NEW = [
    (["--task", "poetry"], "unknown task"),
    (["--hardware", "quantum"], "unknown hardware"),
    (["--stack", "keras"], "unknown stack"),
    (["--data", "licence=MIT"], "did you mean 'license'"),
    (["--data", "license=GPL"], "invalid value 'GPL' for license"),
    (["--data", "noequals"], "KEY=VALUE"),
    (["--data", "package_name=json"], "shadow"),
    (["--data", "package_name=class"], "keyword"),
    (["--data", "project_name=../evil"], "invalid project name"),
    (["--task", "tabular-classification", "--hardware", "mobile"], "deployment rule"),
]


@pytest.mark.parametrize(("args", "message"), BAD_NEW, ids=[m for _, m in BAD_NEW])
def test_new_bad_input_is_exit_2_and_writes_nothing(tmp_path, args, message):
    result = runner.invoke(app, ["new", str(tmp_path / "demo"), "-y", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, "one line, no traceback"
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_a_non_empty_directory_and_leaves_it_alone(tmp_path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("my work")
    before = snapshot(dest)
    result = runner.invoke(app, ["new", str(dest), "-y"])
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert snapshot(dest) == before


def test_new_into_an_empty_directory_works(tmp_path):
    dest = tmp_path / "empty"
    dest.mkdir()
    assert runner.invoke(app, ["new", str(dest), "-y"]).exit_code == 0
    assert (dest / "pyproject.toml").is_file()


def test_console_script_errors_are_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mlscaffold", "new", str(tmp_path / "demo"), "-y", "--task", "nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown task") and "Traceback" not in result.stderr


def test_new_records_an_updatable_origin(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSCAFFOLD_TEMPLATE_URL", "https://git.example.org/ml/mlscaffold.git")
    dest = tmp_path / "demo"
    assert invoke("new", str(dest), "-y").exit_code == 0
    answers = (dest / ".copier-answers.yml").read_text()
    assert "_src_path: https://git.example.org/ml/mlscaffold.git" in answers
    assert f"_commit: v{__version__}" in answers


def test_new_applies_org_defaults_and_locks(tmp_path, monkeypatch):
    config = tmp_path / "org.yml"
    config.write_text(
        "defaults:\n  author_name: Acme ML\n  organization: Acme Corp\n"
        "  package_index: https://pypi.acme.test/simple\nlocked:\n  license: proprietary\n"
    )
    monkeypatch.setenv("MLSCAFFOLD_CONFIG", str(config))
    work = tmp_path / "work"
    dest = work / "demo"
    assert invoke("new", str(dest), "-y").exit_code == 0
    assert "Acme Corp. All rights reserved" in (dest / "LICENSE").read_text()
    assert (
        'PIP_INDEX_URL: "https://pypi.acme.test/simple"'
        in (dest / ".github/workflows/ci.yml").read_text()
    )
    result = runner.invoke(app, ["new", str(work / "other"), "-y", "--data", "license=MIT"])
    assert result.exit_code == 2 and "license" in result.stderr
    assert not (work / "other").exists()


def test_new_refuses_a_malformed_org_config(tmp_path, monkeypatch):
    config = tmp_path / "org.yml"
    config.write_text("defaults: [not, a, mapping\n")
    monkeypatch.setenv("MLSCAFFOLD_CONFIG", str(config))
    result = runner.invoke(app, ["new", str(tmp_path / "demo"), "-y"])
    assert result.exit_code == 2 and str(config) in result.stderr
    assert not (tmp_path / "demo").exists()


def test_interactive_menus_pick_answers_and_accept_the_recommendation(tmp_path, monkeypatch):
    monkeypatch.setattr("mlscaffold.cli.stdin_is_terminal", lambda: True)
    # task 1 (text-classification), a typo, hardware by name; goal and size change nothing
    # here, so they are not asked; Enter accepts the summary screen
    result = runner.invoke(
        app, ["new", str(tmp_path / "demo"), "--dry-run"], input="1\nnope\ngpu\n\n"
    )
    assert result.exit_code == 0, result.output
    assert "Stack: hf-finetune" in result.output
    assert "please type 1-7" in result.output
    assert result.output.count("choose") == 3  # task (twice: the typo) and hardware
    assert "src/demo/train.py" in result.output
    assert "🎤" not in result.output  # one prompt style: Copier never asks
    assert not (tmp_path / "demo").exists()


def test_interactive_asks_what_changes_the_outcome_and_lets_the_user_change_answers(
    tmp_path, monkeypatch
):
    import tomllib

    monkeypatch.setattr("mlscaffold.cli.stdin_is_terminal", lambda: True)
    monkeypatch.setattr(
        "mlscaffold.interactive.git_identity",  # read through identity_defaults
        lambda: {"author_name": "Ada Lovelace", "author_email": "ada@example.org"},
    )
    # tabular on cpu: data size picks XGBoost or LightGBM, so it is asked (2 = large);
    # then change the licence (menu item 2) and the description, and accept
    reply = f"{TABULAR}\n1\n2\nlicense\n2\ndescription\nChurn for Zoë\n\n"
    result = runner.invoke(app, ["new", str(tmp_path / "demo")], input=reply)
    assert result.exit_code == 0, result.output
    assert "goal:" not in result.output  # prototype/research/production reach the same stack
    meta = tomllib.loads((tmp_path / "demo" / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "Apache-2.0" and meta["description"] == "Churn for Zoë"
    assert meta["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    answers = (tmp_path / "demo" / ".copier-answers.yml").read_text()
    assert "tabular_model: lightgbm" in answers


def test_interactive_refuses_a_bad_change_and_keeps_the_old_value(tmp_path, monkeypatch):
    monkeypatch.setattr("mlscaffold.cli.stdin_is_terminal", lambda: True)
    reply = f"{TABULAR}\n1\n1\npackage_name\nBad Name\n\n"
    result = runner.invoke(app, ["new", str(tmp_path / "demo"), "--dry-run"], input=reply)
    assert result.exit_code == 0, result.output
    assert "invalid package name 'Bad Name'" in result.output
    assert "kept the previous value" in result.output
    assert "src/demo/train.py" in result.output


def test_a_stack_without_a_template_is_refused_not_stubbed(tmp_path, monkeypatch):
    monkeypatch.setattr("mlscaffold.scaffold.built_stacks", lambda root=None: {"tabular"})
    result = runner.invoke(
        app, ["new", str(tmp_path / "demo"), "-y", "--task", "custom", "--hardware", "gpu"]
    )
    assert result.exit_code == 2
    assert "torch-lightning template is not built yet" in result.stderr
    assert list(tmp_path.iterdir()) == []
