"""NetworkPolicies derived from the wiring graph: default deny, then one allow per unit.

A unit may be reached only by the units that call it (and by the ingress controller if it
has a public host), and may reach only what it calls. Adding a wire adds exactly its rules;
removing it removes them. Each unit's policy is registered as the unit is deployed: a caller's
pods carry a mark for each unit they call, which the callee's policy admits, so no rule waits
for the last unit. Every policy selects only the pods of this stack's units: in a namespace
shared with other workloads, theirs are left alone.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

import pulumi
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from maestro_components.kubernetes.service_unit import CALLS_LABEL, UNIT_LABEL, internal_calls
from maestro_components.observability import cluster_namespace
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


def _in_namespace(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


class NetworkRules(pulumi.ComponentResource):
    """The stack's NetworkPolicies: a default deny now, and each unit's rules as it is admitted."""

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        stack_pods: dict[str, str],
        ingress_namespace: Optional[str],
        deny_name: str = "default-deny",
        public_domain: Optional[str] = None,
        prometheus_namespace: Optional[str] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        """`prometheus_namespace`: where the Prometheus that scrapes the units runs, if one does."""
        super().__init__("maestro:kubernetes:NetworkRules", name, None, opts)
        self._namespace = namespace
        self._stack_pods = stack_pods  # labels every pod of this stack's units carries
        self._ingress_namespace = ingress_namespace
        self._public_domain = public_domain
        self._prometheus_namespace = prometheus_namespace
        self._units: dict[str, tuple[ServiceUnit, dict[str, str]]] = {}
        NetworkPolicy(
            "default-deny",
            metadata={"name": deny_name, "namespace": namespace, "labels": stack_pods},
            spec={"podSelector": {"matchLabels": stack_pods}, "policyTypes": ["Ingress", "Egress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})

    def admit(self, unit: ServiceUnit, selector: dict[str, str], labels: dict[str, str], dns: bool = True) -> NetworkPolicy:
        """The policy of `unit`, whose pods `selector` selects; `labels` go on the policy itself.
        `dns`: whether its pods may ask the cluster's DNS (one that calls nothing need not)."""
        # The stack's own pods only, whatever else in the namespace shares the unit's labels.
        selector = {**self._stack_pods, **selector}
        self._units[unit.name] = (unit, selector)
        spec = {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": self._ingress(unit),
            "egress": ([DNS_EGRESS] if dns else []) + self._egress(unit),
        }
        return NetworkPolicy(
            unit.name,
            metadata={"name": unit.name, "namespace": self._namespace, "labels": labels},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _ingress(self, unit: ServiceUnit) -> list[dict[str, Any]]:
        if unit.port is None:
            return []
        scraped = []
        if self._prometheus_namespace and unit.metrics:
            # The cluster's Prometheus reaches the metrics port, and nothing else.
            scraped = [{"from": [_in_namespace(self._prometheus_namespace)], "ports": [{"protocol": "TCP", "port": unit.metrics.port}]}]
        ports = [{"protocol": "TCP", "port": unit.port}]
        callers = {"matchLabels": {**self._stack_pods, CALLS_LABEL.format(unit.name): "true"}}
        rules = [{"from": [{"podSelector": callers}], "ports": ports}]
        rules += [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}], "ports": ports}
            for namespace in unit.admitted_from
        ]
        if unit.public_host and self._ingress_namespace:
            namespace = {"matchLabels": {"kubernetes.io/metadata.name": self._ingress_namespace}}
            rules.append({"from": [{"namespaceSelector": namespace}], "ports": ports})
        return rules + scraped

    def _egress(self, unit: ServiceUnit) -> list[dict[str, Any]]:
        rules = []
        internal = internal_calls(unit)
        for target in internal:
            if target in self._units:
                callee, selector = self._units[target]
                rules.append({"to": [{"podSelector": {"matchLabels": selector}}], "ports": [{"protocol": "TCP", "port": callee.port}]})
            else:
                # Not deployed yet, so its port is unknown here: its pods by name; its own
                # policy admits only its port.
                rules.append({"to": [{"podSelector": {"matchLabels": {**self._stack_pods, UNIT_LABEL: target}}}]})
        for target in unit.calls:
            if target in internal:
                continue
            # Any address, on the URL's port only (a URL read from another stack is known at
            # deployment, hence the Output).
            port = pulumi.Output.from_input(target).apply(_external_port)
            namespace, certain = cluster_namespace(target) if isinstance(target, str) else (None, False)
            if namespace:
                # A Service in another namespace (the OTLP collector in monitoring): its pods, by
                # namespace, where an address range may not cover pod addresses.
                rules.append({"to": [_in_namespace(namespace)], "ports": [{"protocol": "TCP", "port": port}]})
            if not certain:
                rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": port}]})
            if self._is_public_host(target):
                # One of this stack's public hosts, called from inside the cluster: the traffic goes
                # to the ingress controller's pods, which an ipBlock rule may not cover once the
                # load balancer's address is translated to theirs.
                namespace = {"matchLabels": {"kubernetes.io/metadata.name": self._ingress_namespace}}
                rules.append({"to": [{"namespaceSelector": namespace}], "ports": [{"protocol": "TCP", "port": port}]})
        return rules

    def _is_public_host(self, target: Any) -> bool:
        if not (isinstance(target, str) and self._public_domain and self._ingress_namespace):
            return False
        host = urlsplit(target).hostname or ""
        return host == self._public_domain or host.endswith("." + self._public_domain)
