"""The distribution ships exactly its three packages, and nothing else answers to
their generic names."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import console
import store
import themes

REPO = Path(__file__).resolve().parents[2]


def test_packages_are_listed_explicitly() -> None:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert doc["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["console", "store", "themes"]


def test_no_other_distribution_provides_our_top_level_names() -> None:
    owners = metadata.packages_distributions()
    for name in ("console", "store", "themes"):
        others = [d for d in owners.get(name, []) if d != "llmops-console"]
        assert not others, f"{name} is also provided by {others}"


def test_imports_resolve_to_this_project() -> None:
    for mod in (console, store, themes):
        assert Path(mod.__file__).resolve().is_relative_to(REPO), mod.__file__


def test_litellm_is_pinned_to_a_safe_release() -> None:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in doc["project"]["dependencies"] if d.startswith("litellm")]
    assert len(pins) == 1 and pins[0].startswith("litellm==")
    assert pins[0].split("==")[1] not in ("1.82.7", "1.82.8")  # the compromised releases
    installed = metadata.version("litellm")
    assert installed == pins[0].split("==")[1]


def test_no_litellm_startup_hook_in_site_packages() -> None:
    # 1.82.8 shipped litellm_init.pth, which ran on every Python start
    import site

    for d in site.getsitepackages():
        assert not list(Path(d).glob("litellm*.pth")), d
