"""The prompt registry: YAML prompt files, their versions, drafts, history, diffs,
rendering, trace linking and fingerprinting. Headless: no Textual, no console.

Start with :class:`PromptRegistry`; see each module for its rules.
"""

from store.prompts.diff import DiffOp, diff_stats, line_diff, similarity, word_diff
from store.prompts.drafts import Draft, DraftStore
from store.prompts.files import atomic_write, version_of
from store.prompts.history import PromptVersion, Revision, TraceVersion, trace_version
from store.prompts.matcher import PromptMatch, PromptMatcher
from store.prompts.model import Issue, Prompt, PromptError, PromptNotFound, VariableSpec
from store.prompts.parse import dump_prompt, load_prompt, parse_prompt, validate
from store.prompts.registry import PromptRegistry
from store.prompts.render import render, variables
from store.prompts.template import MissingVariables

__all__ = [
    "DiffOp",
    "Draft",
    "DraftStore",
    "Issue",
    "MissingVariables",
    "Prompt",
    "PromptError",
    "PromptMatch",
    "PromptMatcher",
    "PromptNotFound",
    "PromptRegistry",
    "PromptVersion",
    "Revision",
    "TraceVersion",
    "VariableSpec",
    "atomic_write",
    "diff_stats",
    "dump_prompt",
    "line_diff",
    "load_prompt",
    "parse_prompt",
    "render",
    "similarity",
    "trace_version",
    "validate",
    "variables",
    "version_of",
    "word_diff",
]
