"""The Kubernetes platform: how a service unit runs on a cluster."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional
from urllib.parse import urlsplit

import pulumi
from pulumi_kubernetes.core.v1 import Namespace
from pulumi_kubernetes.provider import Provider

from maestro_components.kubernetes.network import NetworkRules
from maestro_components.exposure import OWN_TLS_SECRET, Exposure
from maestro_components.kubernetes.service_unit import (
    KubernetesServiceUnit,
    KubernetesServiceUnitArgs,
    recommended_labels,
    selector_labels,
)
from maestro_components.observability import DEFAULT_PROMETHEUS_NAMESPACE, send_telemetry
from maestro_components.options import BackupOptions, Observability
from maestro_components.unit import Endpoints, ServiceUnit, refuse_a_second_claim


class KubernetesPlatform:
    """Deploys units into one namespace of the cluster that `provider` targets: a namespace of
    the stack's own, which it creates, or an existing one (`create_namespace=False`), shared
    with other workloads, which it neither creates nor restricts."""

    def __init__(
        self,
        stack: str,
        namespace: str,
        provider: Provider,
        exposure: Exposure,
        protect_data: bool = True,
        parent: Optional[pulumi.Resource] = None,
        labels: Optional[dict[str, pulumi.Input[str]]] = None,
        create_namespace: bool = True,
        observability: Optional[Observability] = None,
    ):
        self.stack = stack
        self.observability = observability or Observability()
        self.namespace = namespace
        self.exposure = exposure
        self._provider = provider
        self.protect_data = protect_data
        self.units: list[ServiceUnit] = []
        self._workloads: dict[str, pulumi.Resource] = {}
        self._deployed: dict[str, KubernetesServiceUnit] = {}
        self._parent = parent
        stack_labels = {"app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/instance": stack}
        self._stack_labels = stack_labels
        self.namespace_name: pulumi.Input[str] = namespace
        if create_namespace:
            self.namespace_name = Namespace(
                namespace,
                # `labels` may be Outputs that must resolve first: everything in the namespace waits for them.
                metadata={"name": namespace, "labels": {**stack_labels, **(labels or {})}},
                opts=pulumi.ResourceOptions(provider=provider, parent=parent),
            ).metadata["name"]
        self._network = NetworkRules(
            "network",
            self.namespace_name,
            stack_labels,
            exposure.ingress_namespace if exposure.domain else None,
            # In a shared namespace, the stack's name keeps its deny apart from another's.
            deny_name="default-deny" if create_namespace else f"maestro-{stack}-default-deny",
            public_domain=exposure.domain,
            prometheus_namespace=(
                (self.observability.prometheus_namespace or DEFAULT_PROMETHEUS_NAMESPACE) if self.observability.scrape else None
            ),
            opts=pulumi.ResourceOptions(parent=parent, providers={"kubernetes": provider}),
        )

    def tls_from(self, certificate: str, key: pulumi.Input[str]) -> None:
        """A TLS Secret of the stack's own, from a certificate and its (secret) key."""
        from pulumi_kubernetes.core.v1 import Secret

        name = OWN_TLS_SECRET
        Secret(
            name,
            metadata={"name": name, "namespace": self.namespace_name, "labels": self._stack_labels},
            type="kubernetes.io/tls",
            string_data={"tls.crt": certificate, "tls.key": pulumi.Output.secret(key)},
            opts=pulumi.ResourceOptions(provider=self._provider, parent=self._parent),
        )
        self.exposure = replace(self.exposure, tls_secret=name)

    def endpoints(self, unit: ServiceUnit) -> Endpoints:
        if unit.port is None:
            return Endpoints(internal_url=None, public_url=None)
        internal = f"http://{unit.name}.{self.namespace}.svc.cluster.local:{unit.port}"
        public = self.exposure.public_url(unit.public_host, unit.port) if unit.public_host else None
        return Endpoints(internal_url=internal, public_url=public)

    def task_url(self, internal_url: str, public_url: Optional[str]) -> str:
        """A Job reaches a unit through its Service, as every pod does."""
        return internal_url

    def deploy(self, unit: ServiceUnit, parent: pulumi.Resource) -> KubernetesServiceUnit:
        refuse_a_second_claim(self, unit)
        if unit.build is not None:
            raise ValueError(f"{unit.product}: {unit.name} is to be built here, but a cluster pulls its images: give an image (only the Docker platform builds)")
        send_telemetry(unit, self.stack, self.observability.otlp_endpoint)
        self.units.append(unit)
        component = KubernetesServiceUnit(
            unit.name,
            KubernetesServiceUnitArgs(
                unit=unit,
                namespace=self.namespace_name,
                labels=recommended_labels(unit, self.stack),
                exposure=self.exposure,
                host=self.endpoints(unit).public_url,
                protect_data=self.protect_data,
                # A task (a test run) starts once the Deployments it calls are ready.
                after=[self._workloads[n] for n in unit.calls if unit.kind == "task" and isinstance(n, str) and n in self._workloads],
                scrape=self.observability.scrape,
            ),
            opts=pulumi.ResourceOptions(parent=parent, providers={"kubernetes": self._provider}),
        )
        self._workloads[unit.name] = component.workload
        self._deployed[unit.name] = component
        labels = recommended_labels(unit, self.stack)
        self._network.admit(unit, selector_labels(labels, unit), labels)
        return component

    def schedule_backups(self, options: BackupOptions) -> Optional[pulumi.ComponentResource]:
        """Back up every unit with data deployed so far, on `options`' schedule (see backup.py);
        None when there is none."""
        from maestro_components.kubernetes.backup import Backups, BackupsArgs, BackupSource

        sources = [
            BackupSource(
                unit=unit,
                selector=selector_labels(recommended_labels(unit, self.stack), unit),
                claims=self._deployed[unit.name].claims,
                secret_files=self._deployed[unit.name].secret_files,
                host=urlsplit(self.endpoints(unit).internal_url).hostname,
            )
            for unit in self.units
            if unit.data
        ]
        if not sources:
            return None
        return Backups(
            "backups",
            BackupsArgs(options, sources, self.namespace_name, self.stack, self._network, self.protect_data),
            opts=pulumi.ResourceOptions(parent=self._parent, providers={"kubernetes": self._provider}),
        )
