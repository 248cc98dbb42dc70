"""The Docker platform: how a service unit runs on one Docker engine (a laptop, a VM)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from maestro_components.exposure import DockerExposure
from maestro_components.docker.service_unit import DockerServiceUnit, DockerServiceUnitArgs
from maestro_components.observability import send_telemetry
from maestro_components.options import Observability
from maestro_components.unit import Endpoints, ServiceUnit, refuse_a_second_claim


class DockerPlatform:
    """Deploys units as containers on one user-defined network of their own."""

    def __init__(
        self,
        stack: str,
        provider: docker.Provider,
        exposure: DockerExposure,
        protect_data: bool = True,
        parent: Optional[pulumi.Resource] = None,
        data_in_memory: bool = False,
        labels: Optional[dict[str, pulumi.Input[str]]] = None,
        observability: Optional[Observability] = None,
    ):
        self.stack = stack
        self.observability = observability or Observability()
        self.exposure = exposure
        self.protect_data = protect_data
        self.data_in_memory = data_in_memory  # a throwaway stack's data volumes on tmpfs
        self.units: list[ServiceUnit] = []
        self.labels = {"maestro.stack": stack, **(labels or {})}
        self._provider = provider
        self._containers: dict[str, docker.Container] = {}
        # Container, network and volume names are global to the engine: the stack's name keeps stacks apart.
        self.prefix = f"maestro-{stack}"
        self.network = docker.Network(
            "network",
            name=self.prefix,
            driver="bridge",
            # `labels` may be Outputs that must resolve first: every container waits for the network.
            labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in self.labels.items()],
            opts=pulumi.ResourceOptions(provider=provider, parent=parent),
        )

    def public_alias(self, unit: ServiceUnit) -> Optional[str]:
        """The unit's public name on the stack's network: none on loopback, where `localhost` in a
        container is that container itself."""
        if unit.public_host is None or unit.port is None or self.exposure.on_loopback:
            return None
        return f"{unit.public_host}.{self.exposure.domain}"

    def on_host_network(self, unit: ServiceUnit) -> bool:
        """On loopback a task (quality-fabric's runner, testing what a browser loads) runs in the host's
        network namespace, where `localhost:<port>` is the published unit: it sees the stack exactly
        as a browser on this machine does, origins included, and reaches units on their public URLs."""
        return unit.kind == "task" and self.exposure.on_loopback

    def task_url(self, internal_url: str, public_url: Optional[str]) -> str:
        """Where a task reaches a unit: its public URL when tasks that test public URLs run on the
        host's network (loopback), else its URL on the stack's network."""
        return public_url if self.exposure.on_loopback and public_url else internal_url

    def _publishes(self, unit: ServiceUnit) -> bool:
        """Whether the unit's port is published on the Docker host (browsers reach it there)."""
        return self.exposure.publish and unit.public_host is not None and unit.port is not None

    def endpoints(self, unit: ServiceUnit) -> Endpoints:
        if unit.port is None:
            return Endpoints(internal_url=None, public_url=None)
        public = self.exposure.public_url(unit.public_host, unit.port) if unit.public_host else None
        return Endpoints(internal_url=f"http://{unit.name}:{unit.port}", public_url=public)

    def deploy(self, unit: ServiceUnit, parent: pulumi.Resource) -> DockerServiceUnit:
        refuse_a_second_claim(self, unit)
        if self._publishes(unit) and (other := next((u for u in self.units if self._publishes(u) and u.port == unit.port), None)):
            # Under a domain each has its own host, but both would listen on the one host port.
            raise ValueError(f"{unit.product}: {unit.name} would publish port {unit.port}, which {other.name} publishes on this platform")
        send_telemetry(unit, self.stack, self.observability.otlp_endpoint)
        self.units.append(unit)
        component = DockerServiceUnit(
            unit.name,
            DockerServiceUnitArgs(
                unit=unit,
                stack=self.stack,
                container_name=f"{self.prefix}-{unit.name}",
                network=self.network.name,
                aliases=[unit.name] + [a for a in [self.public_alias(unit)] if a],
                host_network=self.on_host_network(unit),
                bind_address=self.exposure.bind_address,
                publish=self._publishes(unit),
                labels=self.labels,
                after=self._called(unit),
                protect_data=self.protect_data,
                data_in_memory=self.data_in_memory,
            ),
            opts=pulumi.ResourceOptions(parent=parent, providers={"docker": self._provider}),
        )
        self._containers[unit.name] = component.container
        return component

    def _called(self, unit: ServiceUnit) -> list[pulumi.Resource]:
        """A task (a test run) starts once what it calls is healthy. Services start at once:
        each waits for its own health, and restarts until what it needs answers, so no
        chain of services lengthens `pulumi up`."""
        if unit.kind != "task":
            return []
        return [self._containers[name] for name in unit.calls if isinstance(name, str) and name in self._containers]
