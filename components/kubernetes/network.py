"""NetworkPolicies derived from the wiring graph: default deny, then one allow per edge.

A unit may be reached only by the units that call it (and by the ingress
controller if it has a public host), and may reach only what it calls. Adding
a wire adds exactly its rules; removing it removes them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import pulumi
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from maestro_components.unit import ServiceUnit

DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


DEFAULT_PORTS = {"https": 443, "git": 443, "ssh": 22, "postgresql": 5432, "postgres": 5432, "redis": 6379, "amqp": 5672}


def _external_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or DEFAULT_PORTS.get(parts.scheme, 80)


class NetworkRules(pulumi.ComponentResource):
    """The namespace's NetworkPolicies, from every unit's `calls`."""

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        units: list[ServiceUnit],
        selector: Callable[[ServiceUnit], dict[str, str]],
        ingress_namespace: Optional[str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("maestro:kubernetes:NetworkRules", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        NetworkPolicy(
            "default-deny",
            metadata={"name": "default-deny", "namespace": namespace},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=child,
        )
        by_name = {u.name: u for u in units}
        for unit in units:
            spec = {
                "podSelector": {"matchLabels": selector(unit)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": self._ingress(unit, units, selector, ingress_namespace),
                "egress": [DNS_EGRESS] + self._egress(unit, by_name, selector),
            }
            NetworkPolicy(unit.name, metadata={"name": unit.name, "namespace": namespace}, spec=spec, opts=child)
        self.register_outputs({})

    @staticmethod
    def _ingress(unit, units, selector, ingress_namespace) -> list[dict[str, Any]]:
        if unit.port is None:
            return []
        ports = [{"protocol": "TCP", "port": unit.port}]
        rules = [
            {"from": [{"podSelector": {"matchLabels": selector(caller)}}], "ports": ports}
            for caller in units
            if any(isinstance(call, str) and call == unit.name for call in caller.calls)
        ]
        if unit.public_host and ingress_namespace:
            namespace = {"matchLabels": {"kubernetes.io/metadata.name": ingress_namespace}}
            rules.append({"from": [{"namespaceSelector": namespace}], "ports": ports})
        return rules

    @staticmethod
    def _egress(unit, by_name, selector) -> list[dict[str, Any]]:
        rules = []
        for target in unit.calls:
            if isinstance(target, str) and target in by_name:
                callee = by_name[target]
                rules.append(
                    {
                        "to": [{"podSelector": {"matchLabels": selector(callee)}}],
                        "ports": [{"protocol": "TCP", "port": callee.port}],
                    }
                )
            else:
                # Outside the cluster: any address, on the URL's port only (a URL read
                # from another stack is known at deployment, hence the Output).
                port = pulumi.Output.from_input(target).apply(_external_port)
                rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": port}]})
        return rules
