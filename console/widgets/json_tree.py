"""A collapsible JSON tree, filled lazily so huge documents open at once."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from console.text import clean

MAX_CHILDREN = 500
LEAF_LIMIT = 2_000


def _leaf(key: str, value: Any) -> Text:
    t = Text(clean(key, 200, one_line=True), style="bold")
    t.append(": ")
    t.append(clean(value if isinstance(value, str) else repr(value), LEAF_LIMIT, one_line=True))
    return t


class JsonTree(Tree[Any]):
    def __init__(self, label: str = "attributes", **kw: Any):
        super().__init__(Text(label), **kw)
        self.show_root = False

    def load(self, doc: Any, label: str = "") -> None:
        self.clear()
        self.root.data = doc
        self._fill(self.root, doc)
        self.root.expand()

    def _fill(self, node: TreeNode[Any], value: Any) -> None:
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for k, v in items[:MAX_CHILDREN]:
            key = str(k)
            if isinstance(v, (dict, list)) and v:
                size = f"{{{len(v)}}}" if isinstance(v, dict) else f"[{len(v)}]"
                child = node.add(Text(f"{clean(key, 200, one_line=True)} {size}"), data=v)
                child.allow_expand = True
            else:
                node.add_leaf(_leaf(key, v))
        if len(items) > MAX_CHILDREN:
            node.add_leaf(Text(f"… {len(items) - MAX_CHILDREN} more", style="italic"))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        node = event.node
        if node is not self.root and not node.children and isinstance(node.data, (dict, list)):
            self._fill(node, node.data)
