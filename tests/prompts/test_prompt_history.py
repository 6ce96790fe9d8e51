import subprocess
from pathlib import Path

import pytest

from store.prompts import PromptRegistry, trace_version, version_of

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> None:
    import os

    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def text(n: int) -> str:
    return f"id: greet\ntemplate: 'Hello {{{{name}}}}, v{n}'\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    git(tmp_path, "init", "-q", "-b", "main")
    (prompts / "hello.yaml").write_text(text(1))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    (prompts / "hello.yaml").write_text(text(2))
    git(tmp_path, "commit", "-q", "-am", "v2")
    git(tmp_path, "mv", "prompts/hello.yaml", "prompts/greet.yaml")
    git(tmp_path, "commit", "-q", "-m", "rename")
    (prompts / "greet.yaml").write_text(text(1))  # a revert, committed
    git(tmp_path, "commit", "-q", "-am", "back to v1")
    return tmp_path


def test_git_history_follows_renames_and_merges_reverts(repo: Path):
    registry = PromptRegistry(repo / "prompts")
    history = registry.history("greet")
    assert [v.version for v in history] == [version_of(text(1)), version_of(text(2))]
    assert history[0].sources == ("working", "git")
    assert [r.subject for r in history[0].revisions] == ["back to v1", "v1"]
    assert history[0].revisions[1].path == "prompts/hello.yaml"  # the name it had then
    assert [r.subject for r in history[1].revisions] == ["rename", "v2"]
    assert history[1].text == text(2)
    old = registry.get("greet", version=version_of(text(2)))
    assert old.template == "Hello {{name}}, v2" and old.version == version_of(text(2))


def test_uncommitted_edit_comes_first_and_traces_merge(repo: Path):
    (repo / "prompts" / "greet.yaml").write_text(text(3))
    registry = PromptRegistry(repo / "prompts")
    seen = [trace_version("greet", version_of(text(2)), ["Hello Ada, v2"], count=7), trace_version("greet", "0123456789ab", ["Hi?"])]
    history = registry.history("greet", seen)
    assert [v.sources for v in history] == [("working",), ("git",), ("git", "trace"), ("trace",)]
    assert history[2].examples == ("Hello Ada, v2",) and history[2].trace_count == 7
    assert history[3].text is None and history[3].examples == ("Hi?",)


def test_no_repository_means_only_the_working_file(tmp_path: Path):
    (tmp_path / "p.yaml").write_text(text(1))
    history = PromptRegistry(tmp_path).history("greet")
    assert [(v.version, v.sources) for v in history] == [(version_of(text(1)), ("working",))]
    assert PromptRegistry(tmp_path).history("missing") == []
