import pytest

from tests.support.collector_receiver import collector_receiver, collector_receiver_server  # noqa: F401
from tests.support.openai_stub import openai_stub, openai_stub_server  # noqa: F401


@pytest.fixture
def isolated_keys(tmp_path, monkeypatch):
    """No provider key in the environment, and a keyring that is a file in tmp_path."""
    import keyring
    import keyring.core

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HOSTED_VLLM_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    keyring.core.init_backend()
    yield tmp_path / "data"
    keyring.set_keyring(previous)
