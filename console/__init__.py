"""The llmops-console terminal UI and command line."""

__version__ = "0.1.0"
