"""Layers point one way: the headless core never imports the UI.

``store`` and ``console.replay`` must import without Textual (and ``store`` without
anything from ``console``); LiteLLM is never imported at module import time. Each
check runs in a fresh interpreter so that nothing else has imported them first.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _modules(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["_"])
    out = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if ".__main__" not in info.name:
            out.append(info.name)
    return out


HEADLESS = _modules("store") + _modules("console.replay")


@pytest.mark.parametrize("chunk", [HEADLESS[i::4] for i in range(4)], ids=[f"part{i}" for i in range(4)])
def test_headless_modules_import_without_textual(chunk: list[str]) -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {chunk!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
        "assert 'litellm' not in sys.modules, 'litellm imported at module import time'\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


def test_store_never_imports_console() -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {_modules('store')!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'console' or m.startswith('console.'))\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
