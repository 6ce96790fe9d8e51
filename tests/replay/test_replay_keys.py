import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner

from console.replay import keys
from console.replay.cli import keys as keys_cli

pytestmark = pytest.mark.usefixtures("isolated_keys")
REPO = Path(__file__).resolve().parents[2]


def test_environment_wins_over_keyring(monkeypatch):
    keys.set_key("openai", "sk-from-keyring")
    assert keys.resolve_key("openai").source == "keyring"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    lookup = keys.resolve_key("openai")
    assert (lookup.key, lookup.source, lookup.env_var) == ("sk-from-env", "env", "OPENAI_API_KEY")


def test_keyring_file_backend_in_tmp(isolated_keys):
    keys.set_key("anthropic", "sk-ant-123")
    assert keys.get_key("anthropic") == "sk-ant-123"
    assert "PlaintextKeyring" in keys.backend_name() and keys.backend_warning() is not None
    assert (isolated_keys / "python_keyring" / "keyring_pass.cfg").is_file()
    assert keys.delete_key("anthropic") and not keys.delete_key("anthropic")
    assert keys.get_key("anthropic") is None


def test_no_key_message_and_env_names():
    lookup = keys.resolve_key("openai")
    assert not lookup.found
    assert keys.missing_key_message("openai", lookup) == "No API key for openai: set OPENAI_API_KEY, or run `llmops-console keys set openai`."
    assert keys.env_var_for("together_ai") == "TOGETHERAI_API_KEY" and keys.env_var_for("hosted_vllm") == "HOSTED_VLLM_API_KEY"


def test_a_broken_keyring_means_no_key_not_a_crash():
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())
    lookup = keys.resolve_key("openai")
    assert lookup.key is None and "NoKeyringError" in lookup.keyring_problem
    assert "use OPENAI_API_KEY" in keys.missing_key_message("openai", lookup)
    with pytest.raises(keys.KeyStoreError, match="OPENAI_API_KEY"):
        keys.set_key("openai", "x")


def test_keys_cli_set_get_delete():
    runner = CliRunner()
    stored = runner.invoke(keys_cli, ["set", "openai", "--stdin"], input="sk-test-1234567890\n")
    assert stored.exit_code == 0, stored.output and "Stored the openai key" in stored.output
    shown = runner.invoke(keys_cli, ["get", "openai"])
    assert shown.exit_code == 0 and "sk-…7890 (from keyring)" in shown.output
    assert runner.invoke(keys_cli, ["delete", "openai"]).exit_code == 0
    missing = runner.invoke(keys_cli, ["get", "openai"])
    assert missing.exit_code == 1 and "set OPENAI_API_KEY" in missing.output and "Traceback" not in missing.output


def test_backend_chosen_by_environment_in_a_fresh_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "XDG_DATA_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    script = "from console.replay import keys; keys.set_key('groq', 'gsk-1'); print(keys.resolve_key('groq'))"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert "key='gsk-1', source='keyring'" in out
    assert "groq" in (tmp_path / "python_keyring" / "keyring_pass.cfg").read_text()
