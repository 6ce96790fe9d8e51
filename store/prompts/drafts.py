"""Unsaved edits, kept on disk so that none is lost (a crash, a closed terminal).

One JSON file per prompt id in the drafts folder (by default ``<prompts>/.drafts/``),
written atomically on every save. A draft remembers the version it was edited
from, so the editor can tell when the file changed underneath it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from store.prompts.files import atomic_write


@dataclass(frozen=True)
class Draft:
    prompt_id: str
    text: str
    base_version: str | None  # version of the file the edit started from; None for a new prompt
    saved_at: datetime  # UTC
    path: str | None = None  # the prompt file the draft belongs to, when known

    def is_stale(self, current_version: str | None) -> bool:
        """True when the file has changed since the edit began."""
        return self.base_version is not None and current_version != self.base_version


def _file_name(prompt_id: str) -> str:
    # ids may hold '/', and a draft for any id must not escape the folder.
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", prompt_id).lstrip(".") or "_"
    return f"{safe}.draft.json"


class DraftStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, prompt_id: str) -> Path:
        return self.directory / _file_name(prompt_id)

    def save(self, prompt_id: str, text: str, base_version: str | None = None, path: Path | str | None = None) -> Draft:
        draft = Draft(prompt_id, text, base_version, datetime.now(UTC), str(path) if path else None)
        record = asdict(draft) | {"saved_at": draft.saved_at.isoformat()}
        atomic_write(self.path_for(prompt_id), json.dumps(record, ensure_ascii=False, indent=1))
        return draft

    def load(self, prompt_id: str) -> Draft | None:
        file = self.path_for(prompt_id)
        try:
            record = json.loads(file.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # an unreadable draft must not stop the editor from opening the file
        return Draft(
            record["prompt_id"],
            record["text"],
            record.get("base_version"),
            datetime.fromisoformat(record["saved_at"]),
            record.get("path"),
        )

    def discard(self, prompt_id: str) -> bool:
        try:
            self.path_for(prompt_id).unlink()
            return True
        except FileNotFoundError:
            return False

    def list(self) -> list[Draft]:
        if not self.directory.is_dir():
            return []
        drafts = []
        for file in sorted(self.directory.glob("*.draft.json")):
            try:
                prompt_id = json.loads(file.read_text("utf-8"))["prompt_id"]
            except (OSError, ValueError, KeyError):
                continue
            draft = self.load(prompt_id)
            if draft is not None:
                drafts.append(draft)
        return drafts
