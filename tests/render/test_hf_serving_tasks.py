"""Layer 3 for `serving: http` on hf-finetune's question-answering, summarization, translation
and text-generation tasks: each service takes its predict command's inputs (the task's own
request fields), its README states that contract, and text-generation documents vLLM as the
GPU path without depending on it. tests/render/test_serving.py holds the file sets, hadolint
and the CI image job of every served task."""

from __future__ import annotations

import tomllib

import pytest

# the request fields of POST /predict and what the README must say about them
CONTRACT = {
    "question-answering": (
        ["examples: Annotated[list[Example]", "top_k:", "MAX_CONTEXT_CHARS = 100_000"],
        ['{"examples":', "`n_best` when `top_k` > 1"],
    ),
    "summarization": (
        ["texts: Annotated[list[Text]", "num_beams:", "max_new_tokens:", "load_generator"],
        ['`{"texts": ["...", ...]}`', '`"num_beams"` (at most 8)'],
    ),
    "translation": (
        ["texts: Annotated[list[Text]", "num_beams:", "max_new_tokens:", "load_generator"],
        ['`{"texts": ["...", ...]}`', '`"max_new_tokens"` (at most 512)'],
    ),
    "text-generation": (
        ["messages: Messages | None", "prompts: Prompts | None", "MAX_NEW_TOKENS = 512", "uses_chat"],
        ['`{"prompts": [...]}`', "above 512 the request is refused"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("task", list(CONTRACT))
def test_service_takes_the_predict_commands_inputs(render_project, task):
    project = render_project("srv_task", stack="hf-finetune", task=task, serving="http")
    serve = (project / "src/srv_task/serve.py").read_text()
    code, docs = CONTRACT[task]
    for fragment in code:
        assert fragment in serve, fragment
    assert "class ModelAPI(ls.LitAPI)" in serve and "def build_server(" in serve
    readme = (project / "README.md").read_text()
    section = readme.split("## Serve it over HTTP", 1)[1]
    for fragment in docs:
        assert fragment in section, fragment
    assert "## Serve it over HTTP" not in readme.split("## Keeping up with the template")[1]
    served = (project / "tests/test_serve.py").read_text()
    assert "test_concurrent_load_has_no_errors" in served and "killpg" in served
    assert "range(200)" in served  # the load check's size the README states
    # vLLM: the GPU path of text generation, documented, never a dependency
    deps = " ".join(
        tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    assert "vllm" not in deps
    assert ("vllm serve artifacts/model --served-model-name srv_task" in section) == (
        task == "text-generation"
    )
    assert ("/v1/chat/completions" in section) == (task == "text-generation")
