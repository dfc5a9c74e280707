"""The causation tree as text: one line per event, its effects indented under it."""

from __future__ import annotations

from consumers.lineage.query import Effect, TraceNode, iso_time


def event_line(node: TraceNode) -> str:
    mark = "  <-" if node.matched else ""
    return (f"{node.event_type}  {node.topic}[{node.partition}]@{node.offset}  {node.time}  "
            f"{node.event_id}{mark}")


def effect_line(effect: Effect) -> str:
    detail = f"  ({effect.detail})" if effect.detail else ""
    return f"* {effect.group}: {effect.outcome} at {iso_time(effect.at_ms)}{detail}"


def tree_lines(roots: list[TraceNode]) -> list[str]:
    lines: list[str] = []
    for root in roots:
        lines.append(event_line(root))
        _below(root, "", lines)
    return lines


def _below(node: TraceNode, prefix: str, lines: list[str]) -> None:
    children = node.children
    # Effects first, under the event, with the rail of the children that follow.
    rail = "│   " if children else "    "
    for effect in node.effects:
        lines.append(prefix + rail + effect_line(effect))
    for i, child in enumerate(children):
        last = i == len(children) - 1
        lines.append(prefix + ("└── " if last else "├── ") + event_line(child))
        _below(child, prefix + ("    " if last else "│   "), lines)
