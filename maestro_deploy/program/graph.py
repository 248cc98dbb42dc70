"""The wiring graph of a stack: its units, what each calls, and a Mermaid picture of it."""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from maestro_components.unit import ServiceUnit


def describe_wiring(units: list[ServiceUnit], public_url: Callable[[ServiceUnit], Optional[str]]) -> dict[str, Any]:
    """Plain data (a stack output): units, and edges to units or external URLs. A call to one of
    the stack's own public hosts is an edge to that unit, `via: public`: the same on every platform."""
    public = {url: u.name for u in units if (url := public_url(u))}

    def edge(source: ServiceUnit, to: Any) -> dict[str, Any]:
        owner = next((name for url, name in public.items() if isinstance(to, str) and (to == url or to.startswith(url + "/"))), None)
        return {"from": source.name, "to": owner, "via": "public"} if owner else {"from": source.name, "to": to, "via": "network"}

    edges = [edge(u, to) for u in units for to in u.calls]
    edges += [{"from": u.name, "to": to, "via": "browser"} for u in units for to in u.browser_calls]
    return {
        "units": [
            {"name": u.name, "product": u.product, "component": u.component, "version": u.version} for u in units
        ],
        "edges": edges,
    }


def _node_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(stack: str, wiring: dict[str, Any]) -> str:
    """A flowchart: one box per product holding its units; external services as round nodes."""
    lines = ["flowchart LR", f"  %% stack: {stack}"]
    by_product: dict[str, list[dict[str, Any]]] = {}
    for unit in wiring["units"]:
        by_product.setdefault(unit["product"], []).append(unit)
    for product, units in by_product.items():
        lines.append(f'  subgraph {_node_id("p_" + product)}["{product}"]')
        lines += [f'    {_node_id(u["name"])}["{u["component"]} {u["version"]}"]' for u in units]
        lines.append("  end")
    known = {u["name"] for u in wiring["units"]}
    externals = sorted({e["to"] for e in wiring["edges"] if e["to"] not in known})
    for i, url in enumerate(externals):
        lines.append(f'  ext{i}(("{url}")):::external')
    ids = {url: f"ext{i}" for i, url in enumerate(externals)}
    for e in wiring["edges"]:
        target = _node_id(e["to"]) if e["to"] in known else ids[e["to"]]
        arrow = {"browser": "-.->|browser|", "public": "-->|public|"}.get(e["via"], "-->")
        lines.append(f"  {_node_id(e['from'])} {arrow} {target}")
    lines.append("  classDef external stroke-dasharray: 4 4")
    return "\n".join(lines) + "\n"
