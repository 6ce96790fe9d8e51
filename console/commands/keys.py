"""``llmops-console keys set|get|delete PROVIDER``: provider keys in the OS keyring."""

from console.replay.cli import keys

__all__ = ["keys"]
