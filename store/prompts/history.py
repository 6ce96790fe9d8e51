"""A prompt's versions: from git, from the working file, and from traces.

Git history follows renames (``git log --follow``) and reads each revision's
content in one ``git cat-file --batch`` process. Outside a repository, without
git, or for an untracked file it is simply empty: history is a help, never a
requirement.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from store.prompts.files import version_of

_RECORD = "\x1e"
_FIELD = "\x1f"


@dataclass(frozen=True)
class Revision:
    rev: str  # full commit hash
    author: str
    date: datetime  # as git recorded it, with its offset
    subject: str
    path: str  # the file's path in that commit, relative to the repository root


@dataclass(frozen=True)
class PromptVersion:
    """One distinct content of a prompt file.

    ``sources`` holds "working" (the file on disk), "git" (in at least one commit)
    and/or "trace" (seen on spans). ``text`` is None for a version only seen in
    traces; ``examples`` then holds rendered texts the caller found there.
    """

    version: str
    text: str | None
    sources: tuple[str, ...]
    revisions: tuple[Revision, ...] = ()  # newest first
    examples: tuple[str, ...] = ()
    trace_count: int | None = None

    @property
    def latest_revision(self) -> Revision | None:
        return self.revisions[0] if self.revisions else None


@dataclass(frozen=True)
class TraceVersion:
    """What a caller found in traces for one prompt version."""

    version: str
    examples: Sequence[str] = field(default_factory=tuple)
    count: int | None = None


def _git(cwd: Path, *args: str, data: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or it hung
    return done.stdout if done.returncode == 0 else None


def repo_root(path: Path) -> Path | None:
    path = Path(path).resolve()
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        return None
    out = _git(folder, "rev-parse", "--show-toplevel")
    return Path(out.decode().strip()) if out else None


def git_revisions(path: Path) -> list[Revision]:
    """The commits that touched ``path`` (following renames), newest first; [] outside git."""
    path = Path(path).resolve()
    root = repo_root(path)
    if root is None:
        return []
    relative = path.relative_to(root.resolve()).as_posix()
    out = _git(root, "log", "--follow", f"--format={_RECORD}%H{_FIELD}%an{_FIELD}%aI{_FIELD}%s", "--name-only", "--", relative)
    if not out:
        return []
    revisions = []
    for record in out.decode("utf-8", "replace").split(_RECORD)[1:]:
        header, _, names = record.partition("\n")
        rev, author, date, subject = header.split(_FIELD, 3)
        name = next((n for n in names.splitlines() if n.strip()), relative)
        revisions.append(Revision(rev, author, datetime.fromisoformat(date), subject, name))
    return revisions


def read_revisions(root: Path, revisions: Sequence[Revision]) -> list[bytes | None]:
    """Each revision's file content (None where the file is absent, e.g. a deleting commit)."""
    if not revisions:
        return []
    request = "".join(f"{r.rev}:{r.path}\n" for r in revisions).encode()
    out = _git(root, "cat-file", "--batch", data=request)
    if out is None:
        return [None] * len(revisions)
    contents: list[bytes | None] = []
    pos = 0
    for _ in revisions:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[-1] == b"missing":
            contents.append(None)
            continue
        size = int(header[2])
        contents.append(out[pos : pos + size])
        pos += size + 1  # content, then a newline
    return contents


def git_versions(path: Path) -> list[PromptVersion]:
    """Distinct contents of ``path`` in git, newest first; a content that comes back
    (a revert) is listed once, under its newest commit, with all its revisions."""
    revisions = git_revisions(path)
    root = repo_root(path)
    if not revisions or root is None:
        return []
    by_version: dict[str, tuple[str, list[Revision]]] = {}
    for revision, content in zip(revisions, read_revisions(root, revisions), strict=True):
        if content is None:
            continue
        version = version_of(content)
        if version not in by_version:
            by_version[version] = (content.decode("utf-8-sig", "replace"), [])
        by_version[version][1].append(revision)
    return [PromptVersion(v, text, ("git",), tuple(revs)) for v, (text, revs) in by_version.items()]


def file_history(path: Path, trace_versions: Iterable[TraceVersion] = ()) -> list[PromptVersion]:
    """The working file's version first (when it differs from every commit, it stands
    alone as "working"), then git's, then versions only seen in traces."""
    path = Path(path)
    versions = git_versions(path)
    if path.is_file():
        data = path.read_bytes()
        current = version_of(data)
        known = next((i for i, v in enumerate(versions) if v.version == current), None)
        if known is None:
            versions.insert(0, PromptVersion(current, data.decode("utf-8-sig", "replace"), ("working",)))
        else:
            entry = versions.pop(known)
            versions.insert(0, replace(entry, sources=("working", *entry.sources)))
    return merge_trace_versions(versions, trace_versions)


def trace_version(prompt_id: str, version: str, examples: Sequence[str], count: int | None = None) -> TraceVersion:
    """A version a caller found on spans (``prompt.id``/``prompt.version``), with rendered examples."""
    del prompt_id  # part of the caller's vocabulary; the version hash is what identifies content
    return TraceVersion(version, tuple(examples), count)


def merge_trace_versions(versions: list[PromptVersion], trace_versions: Iterable[TraceVersion]) -> list[PromptVersion]:
    """Mark the known versions seen in traces, and append those known only from traces."""
    merged = list(versions)
    index = {v.version: i for i, v in enumerate(merged)}
    for seen in trace_versions:
        if seen.version in index:
            entry = merged[index[seen.version]]
            merged[index[seen.version]] = replace(
                entry,
                sources=tuple(dict.fromkeys((*entry.sources, "trace"))),
                examples=(*entry.examples, *seen.examples),
                trace_count=seen.count,
            )
        else:
            index[seen.version] = len(merged)
            merged.append(PromptVersion(seen.version, None, ("trace",), (), tuple(seen.examples), seen.count))
    return merged


def text_at_revision(path: Path, rev: str) -> str | None:
    """The file's content at a git revision (any rev git understands), or None."""
    path = Path(path).resolve()
    root = repo_root(path)
    if root is None:
        return None
    relative = path.relative_to(root.resolve()).as_posix()
    out = _git(root, "show", f"{rev}:{relative}")
    return out.decode("utf-8-sig", "replace") if out is not None else None
