import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for folder in ("console/replay", "store/prompts")
    for path in (REPO / folder).glob("*.py")
    if path.name != "__init__.py"
)


def test_importing_replay_and_prompts_loads_neither_textual_nor_litellm():
    script = (
        "import sys\n"
        f"for name in {MODULES!r}: __import__(name)\n"
        "print(sorted(m for m in ('textual', 'litellm', 'opentelemetry.sdk', 'tiktoken') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_textual_or_console_ui_imports_in_the_sources():
    for folder in ("console/replay", "store/prompts"):
        for path in (REPO / folder).glob("*.py"):
            text = path.read_text()
            assert "import textual" not in text and "from textual" not in text, path
            for line in text.splitlines():
                if line.startswith(("from console", "import console")):
                    assert line.startswith(("from console.replay", "import console.replay")), (path, line)
