"""`python -m ivr graph`: the phone tree as Mermaid, Graphviz DOT and (with Graphviz) SVG.

Menus are boxes, content sections rounded, hotlines gold and double-bordered so the
ways to a person stand out. Edges carry the key. Keys that work on every node are
listed once in a legend instead of drawn from every node. Nodes with lint warnings
are drawn red, with the warning in the label (Mermaid) or tooltip (DOT/SVG).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..menu import model as m
from ..menu.problems import MenuProblem

WORDS = 6


def first_words(text: str, count: int = WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" ..." if len(words) > count else "")


def _edges(menu: m.Menu) -> list[tuple[str, str, str]]:
    """(from node, to node-or-hotline id, key label) for each option drawn."""
    global_keys = _global_keys(menu)
    edges = []
    for node in menu.nodes.values():
        for key, option in node.keys.items():
            if global_keys.get(key) == option.action and key not in {o.key for o in node.options}:
                continue  # a global key: shown in the legend
            action = option.action
            if action.kind == m.GOTO:
                edges.append((node.id, action.target, key))
            elif action.kind == m.TRANSFER:
                edges.append((node.id, f"hotline:{action.target}", key))
            elif action.kind == m.NEXT and node.next:
                edges.append((node.id, node.next, f"{key} next"))
            elif action.kind == m.BACK and node.parent:
                edges.append((node.id, node.parent, f"{key} back"))
    return edges


def _global_keys(menu: m.Menu) -> dict[str, m.Action]:
    """Keys bound the same way on every node (the menu's `keys:` block, as served)."""
    nodes = list(menu.nodes.values())
    if not nodes:
        return {}
    common = {k: o.action for k, o in nodes[0].keys.items()}
    for node in nodes[1:]:
        common = {k: a for k, a in common.items() if k in node.keys and node.keys[k].action == a}
    return common


def _warnings_by_node(menu: m.Menu, warnings: list[MenuProblem]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for warning in warnings:
        if warning.node in menu.nodes:
            result.setdefault(warning.node, []).append(warning.message)
    return result


def _node_text(menu: m.Menu, node: m.Node) -> str:
    lang = menu.default_language
    text = node.title.get(lang) or node.prompt.get(lang) or ""
    return first_words(text)


def said(menu: m.Menu, phrases: m.Phrases, show: bool, most: int = 3) -> str:
    """'say: "victims", "who are the victims"': what a caller may say for it (with --phrases)."""
    spoken = phrases.get(menu.default_language, ())
    if not show or not spoken:
        return ""
    return "say: " + ", ".join(f"'{p}'" for p in spoken[:most]) + (" ..." if len(spoken) > most else "")


def situations(menu: m.Menu, show: bool) -> list[tuple[str, str, str]]:
    """(id, target id, label) for each situation a caller may describe by voice (speech on only):
    its name, and with --phrases what the menu lists for it (the five that reach a person also
    have the line's built-in phrases)."""
    if not menu.speech:
        return []
    found = []
    for situation in menu.situations.values():
        action = situation.action
        target = f"hotline:{action.target}" if action.kind == m.TRANSFER else action.target
        label = f"🗣 {situation.name}"
        if show:
            listed = said(menu, situation.say, True, most=8)
            label += f"\n{listed}" if listed else ""
            label += "\n+ built-in phrases" if situation.name in m.PERSON_SITUATIONS else ""
        found.append((f"situation_{situation.name}", target, label))
    return found


def mermaid(menu: m.Menu, warnings: list[MenuProblem] = (), phrases: bool = False) -> str:  # type: ignore[assignment]
    def esc(text: str) -> str:
        return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")

    flagged = _warnings_by_node(menu, list(warnings))
    lines = ["flowchart TD"]
    for node in menu.nodes.values():
        mark = "⚠ " if node.id in flagged else ""
        label = f"{mark}{node.id} ({node.kind})"
        text = _node_text(menu, node)
        if text:
            label += f"<br/>{esc(text)}"
        if said(menu, node.say, phrases):
            label += f"<br/>{esc(said(menu, node.say, phrases))}"
        if node.id in flagged:
            label += "<br/><i>" + esc(first_words(flagged[node.id][0], 12)) + "</i>"
        shape = ('["', '"]') if node.kind == m.MENU else ('("', '")')
        lines.append(f"  {node.id}{shape[0]}{label}{shape[1]}")
    for hotline in menu.hotlines.values():
        name = hotline.name.get(menu.default_language, hotline.id)
        say = said(menu, hotline.say, phrases)
        lines.append(
            f'  hotline_{hotline.id}[["☎ {esc(hotline.id)}: {esc(first_words(name))}<br/>{hotline.number}{"<br/>" + esc(say) if say else ""}"]]'
        )
    for source, target, key in _edges(menu):
        target_id = target.replace("hotline:", "hotline_")
        lines.append(f'  {source} -- "{esc(key)}" --> {target_id}')
    for source, target, label in situations(menu, phrases):
        lines.append(
            f'  {source}{{{{"{esc(label).replace(chr(10), "<br/>")}"}}}} -. said anywhere .-> {target.replace("hotline:", "hotline_")}'
        )
    legend = ", ".join(f"{k} {a}" for k, a in _global_keys(menu).items())
    if legend:
        lines.append(f'  legend{{{{"On every node: {esc(legend)}"}}}}')
    lines.append(f"  start((start)) --> {menu.start}")
    lines.append("  classDef hotline fill:#fde68a,stroke:#b45309,stroke-width:3px")
    lines.append("  classDef warn stroke:#dc2626,stroke-width:3px")
    lines.append("  class " + ",".join(f"hotline_{h}" for h in menu.hotlines) + " hotline")
    if flagged:
        lines.append("  class " + ",".join(flagged) + " warn")
    return "\n".join(lines) + "\n"


def dot(menu: m.Menu, warnings: list[MenuProblem] = (), phrases: bool = False) -> str:  # type: ignore[assignment]
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    flagged = _warnings_by_node(menu, list(warnings))
    lines = [
        "digraph menu {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  start [shape=circle, label="start", style=filled, fillcolor="#e5e7eb"];',
        f"  start -> {q(menu.start)};",
    ]
    for node in menu.nodes.values():
        label = f"{node.id} ({node.kind})\n{_node_text(menu, node)}" + (
            f"\n{said(menu, node.say, phrases)}" if said(menu, node.say, phrases) else ""
        )
        attrs = {"shape": "box", "label": label, "id": f"node-{node.id}"}
        if node.kind == m.CONTENT:
            attrs["style"] = "rounded"
        if node.id in flagged:
            attrs.update(color="#dc2626", penwidth="2.5", tooltip="; ".join(flagged[node.id]), label="⚠ " + label)
        lines.append(f"  {q(node.id)} [" + ", ".join(f"{k}={q(v)}" for k, v in attrs.items()) + "];")
    for hotline in menu.hotlines.values():
        name = hotline.name.get(menu.default_language, hotline.id)
        lines.append(
            f'  {q("hotline:" + hotline.id)} [shape=doubleoctagon, style=filled, fillcolor="#fde68a", color="#b45309", penwidth=2, '
            f"id={q('hotline-' + hotline.id)}, label={q(f'☎ {hotline.id}: {first_words(name)}' + chr(10) + hotline.number + (chr(10) + said(menu, hotline.say, phrases) if said(menu, hotline.say, phrases) else ''))}];"
        )
    for source, target, key in _edges(menu):
        style = ', color="#b45309", penwidth=2' if target.startswith("hotline:") else ""
        lines.append(f"  {q(source)} -> {q(target)} [label={q(key)}{style}];")
    for source, target, label in situations(menu, phrases):
        lines.append(f"  {q(source)} [shape=hexagon, id={q(source)}, label={q(label)}];")
        lines.append(f'  {q(source)} -> {q(target)} [style=dashed, label="said anywhere"];')
    legend = "\\n".join(f"{k}: {a}" for k, a in _global_keys(menu).items())
    if legend:
        lines.append(f'  legend [shape=note, label="On every node:\\n{legend}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graphs(menu: m.Menu, warnings: list[MenuProblem], out_dir: Path, phrases: bool = False) -> dict[str, Path]:
    """Write NAME.mmd and NAME.dot, and NAME.svg when Graphviz's `dot` is installed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(menu.path).stem
    written = {"mermaid": out_dir / f"{stem}.mmd", "dot": out_dir / f"{stem}.dot"}
    written["mermaid"].write_text(mermaid(menu, warnings, phrases), encoding="utf-8")
    written["dot"].write_text(dot(menu, warnings, phrases), encoding="utf-8")
    dot_program = shutil.which("dot")
    if dot_program:
        svg = out_dir / f"{stem}.svg"
        subprocess.run([dot_program, "-Tsvg", str(written["dot"]), "-o", str(svg)], check=True, timeout=60)
        written["svg"] = svg
    return written
