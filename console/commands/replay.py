"""``llmops-console replay``: the headless regression run for CI."""

from console.replay.cli import replay

__all__ = ["replay"]
