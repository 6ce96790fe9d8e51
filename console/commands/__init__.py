"""CLI commands, one module each (the TUI is not imported by any of them)."""
