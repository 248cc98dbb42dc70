"""One service unit on Kubernetes: its identity, config, storage, workload, Service and Ingress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import hashlib
import hmac

import pulumi
import pulumi_random
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
from pulumi_kubernetes.batch.v1 import Job
from pulumi_kubernetes.core.v1 import ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount
from pulumi_kubernetes.networking.v1 import Ingress
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from maestro_components.exposure import Exposure
from maestro_components.kubernetes.pod import file_key, pod_template, progress_deadline, rollout_wait
from maestro_components.quantity import quantity
from maestro_components.unit import ServiceUnit

PART_OF = "maestro"
# How often the cluster's Prometheus scrapes a unit (docs/observability.md).
SCRAPE_INTERVAL = "30s"


def recommended_labels(unit: ServiceUnit, stack: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": unit.product,
        "app.kubernetes.io/component": unit.component,
        "app.kubernetes.io/instance": stack,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/version": unit.version,
        "app.kubernetes.io/managed-by": "pulumi",
    }


UNIT_LABEL = "maestro.dev/unit"
# On a caller's pods, one per unit it calls: the callee's policy admits the pods that carry it.
CALLS_LABEL = "calls.maestro.dev/{}"


def selector_labels(labels: dict[str, str], unit: ServiceUnit) -> dict[str, str]:
    """The labels that never change over a unit's life: a selector is immutable."""
    keys = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance")
    return {k: labels[k] for k in keys} | ({UNIT_LABEL: unit.name} if unit.distinct else {})


def internal_calls(unit: ServiceUnit) -> list[str]:
    """The units on the platform that `unit` calls (its other calls are URLs)."""
    return [c for c in unit.calls if isinstance(c, str) and "://" not in c]


def pod_labels(labels: dict[str, str], unit: ServiceUnit) -> dict[str, str]:
    """A unit's pods: its labels, its name, and a mark for each unit it calls (network rules)."""
    return {**labels, UNIT_LABEL: unit.name} | {CALLS_LABEL.format(c): "true" for c in internal_calls(unit)}


def policy_exceptions(unit: ServiceUnit) -> dict[str, str]:
    """Checkov skips, each on the one object it concerns, with its reason (listed in the README)."""
    reasons = []
    if "@sha256:" not in unit.image:
        reasons.append("CKV_K8S_43=pinned by tag: the digest is not known until the product's release publishes it")
    if unit.secret_env:
        reasons.append(
            "CKV_K8S_35=the product reads this secret from its environment by its published contract;"
            " the value comes from a Secret, never a literal"
        )
    return {f"checkov.io/skip{i}": reason for i, reason in enumerate(reasons, start=1)}


def nginx_size(amount: str) -> str:
    """A Kubernetes quantity (100Mi) as ingress-nginx writes a size (100m: megabytes)."""
    return f"{max(1, round(quantity(amount) / 2**20))}m"


def min_replicas(unit: ServiceUnit) -> int:
    return unit.autoscaling.min_replicas if unit.autoscaling else unit.replicas


@dataclass
class KubernetesServiceUnitArgs:
    unit: ServiceUnit
    namespace: pulumi.Input[str]
    labels: dict[str, str]
    exposure: Exposure
    host: Optional[str]  # public URL, when browsers reach the unit
    protect_data: bool = True  # False only in throwaway stacks, whose teardown must be complete
    after: list[pulumi.Resource] = field(default_factory=list)  # workloads that must be ready first
    scrape: Optional[str] = None  # "service-monitor", "annotations", or None: metrics not wired


class KubernetesServiceUnit(pulumi.ComponentResource):
    def __init__(self, name: str, args: KubernetesServiceUnitArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:kubernetes:ServiceUnit", name, None, opts)
        unit, labels = args.unit, args.labels
        child = pulumi.ResourceOptions(parent=self)

        def meta(suffix: str = "") -> dict[str, Any]:
            return {"name": unit.name + suffix, "namespace": args.namespace, "labels": labels}

        account = ServiceAccount(name, metadata=meta(), automount_service_account_token=False, opts=child)
        config_map = None
        if unit.files:
            config_map = ConfigMap(
                f"{name}-files",
                metadata=meta("-files"),
                data={file_key(path): content for path, content in unit.files.items()},
                opts=child,
            )
        def secret(suffix: str, values: dict[str, pulumi.Input[str]]) -> Optional[pulumi.Output[str]]:
            if not values:
                return None
            return Secret(
                f"{name}{suffix}",
                metadata=meta(suffix),
                type="Opaque",
                string_data={k: pulumi.Output.secret(v) for k, v in values.items()},
                opts=child,
            ).metadata["name"]

        env_secret = secret("-env", unit.secret_env)
        files_secret = secret("-secret-files", {file_key(p): v for p, v in unit.secret_files.items()})
        claims = [
            volume.existing
            or PersistentVolumeClaim(
                f"{name}-data-{i}",
                metadata=meta(f"-data-{i}"),
                spec={
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": volume.size}},
                    **({"storageClassName": volume.storage_class} if volume.storage_class else {}),
                },
                # Data outlives `pulumi destroy` and a mistaken rename unless the stack is throwaway.
                opts=pulumi.ResourceOptions(
                    parent=self, protect=args.protect_data, retain_on_delete=args.protect_data
                ),
            )
            for i, volume in enumerate(unit.data)
        ]
        # What a unit's backups read: its volumes' claims, and its secret files (a database's password).
        self.claims: list[pulumi.Input[str]] = [claim if isinstance(claim, str) else claim.metadata["name"] for claim in claims]
        self.secret_files = files_secret
        template = pod_template(
            unit,
            pod_labels(labels, unit),
            account.metadata["name"],
            config_map.metadata["name"] if config_map else None,
            env_secret,
            files_secret,
            self.claims,
            self._secrets_digest(name, unit),
            scrape=args.scrape if unit.metrics else None,
        )
        workload_meta = {**meta(), "annotations": policy_exceptions(unit)}
        if unit.kind == "task":
            self.workload = Job(
                name,
                metadata=workload_meta,
                # A hung run is stopped: the Job fails after its deadline, and `pulumi up` with it.
                spec={"backoffLimit": 1, "activeDeadlineSeconds": unit.deadline_seconds, "template": template},
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.after),
            )
        else:
            deadline = progress_deadline(unit, template["spec"]["containers"][0])
            # `pulumi up` fails the update once Kubernetes has given up on the rollout
            # (ProgressDeadlineExceeded), rather than at the provider's own 10 minutes.
            wait = f"{rollout_wait(unit, deadline)}s"
            self.workload = Deployment(
                name,
                metadata=workload_meta,
                spec={
                    # With an autoscaler, replicas are its to set: a fixed count here would undo its
                    # choice at every `pulumi up`, or fight its field manager.
                    **({} if unit.autoscaling else {"replicas": unit.replicas}),
                    "selector": {"matchLabels": selector_labels(labels, unit)},
                    # A ReadWriteOnce volume cannot be mounted by the old and new pod at once.
                    "strategy": {"type": "Recreate"} if unit.data else {"type": "RollingUpdate"},
                    "progressDeadlineSeconds": deadline,
                    "template": template,
                },
                opts=pulumi.ResourceOptions(parent=self, custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait)),
            )
        if unit.port is not None:
            ports = [{"name": p["name"], "port": p["containerPort"], "targetPort": p["name"]} for p in template["spec"]["containers"][0]["ports"]]
            monitored = args.scrape == "service-monitor" and unit.metrics is not None
            Service(
                name,
                # A ServiceMonitor selects the Service by its stable labels, the unit's name among them.
                metadata={**meta(), "labels": {**labels, UNIT_LABEL: unit.name}} if monitored else meta(),
                spec={"type": "ClusterIP", "selector": selector_labels(labels, unit), "ports": ports},
                opts=child,
            )
            if monitored:
                self._service_monitor(name, unit, labels, meta(), ports)
        if unit.autoscaling:
            HorizontalPodAutoscaler(
                name,
                metadata=meta(),
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.workload.metadata["name"]},
                    "minReplicas": unit.autoscaling.min_replicas,
                    "maxReplicas": unit.autoscaling.max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": unit.autoscaling.cpu_utilization},
                            },
                        }
                    ],
                },
                opts=child,
            )
        if unit.kind == "service" and min_replicas(unit) > 1:
            PodDisruptionBudget(
                name,
                metadata=meta(),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(labels, unit)}},
                opts=child,
            )
        if args.host is not None:
            self._ingress(name, unit, args, meta())
        self.register_outputs({"workload": self.workload.metadata["name"]})

    def _service_monitor(self, name: str, unit: ServiceUnit, labels: dict[str, str], metadata: dict, ports: list[dict]) -> None:
        """The Prometheus Operator scrapes the unit's Service through this, on its metrics port."""
        port = next(p["name"] for p in ports if p["port"] == unit.metrics.port)
        CustomResource(
            name,
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=metadata,
            spec={
                "selector": {"matchLabels": {**selector_labels(labels, unit), UNIT_LABEL: unit.name}},
                "endpoints": [{"port": port, "path": unit.metrics.path, "interval": SCRAPE_INTERVAL}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _secrets_digest(self, name: str, unit: ServiceUnit) -> Optional[pulumi.Output[str]]:
        """A digest that changes with any of the unit's secret values and tells nothing of them:
        an HMAC under a random key of the unit's own, kept in the stack's state, so not even a
        weak password can be guessed from it. Declassified on purpose: it is only a digest."""
        values = [unit.secret_env[k] for k in sorted(unit.secret_env)] + [unit.secret_files[p] for p in sorted(unit.secret_files)]
        if not values:
            return None
        key = pulumi_random.RandomId(f"{name}-secrets-digest-key", byte_length=32, opts=pulumi.ResourceOptions(parent=self))
        digest = pulumi.Output.all(key.hex, *values).apply(
            lambda parts: hmac.new(bytes.fromhex(parts[0]), "\0".join(parts[1:]).encode(), hashlib.sha256).hexdigest()[:16]
        )
        return pulumi.Output.unsecret(digest)

    def _ingress(self, name: str, unit: ServiceUnit, args: KubernetesServiceUnitArgs, metadata: dict) -> None:
        host = args.host.split("://", 1)[1]
        exposure = args.exposure
        spec: dict[str, Any] = {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": unit.name, "port": {"number": unit.port}}},
                            }
                        ]
                    },
                }
            ]
        }
        if exposure.ingress_class:
            spec["ingressClassName"] = exposure.ingress_class
        annotations = {}
        if exposure.tls_secret or exposure.cluster_issuer:
            spec["tls"] = [{"hosts": [host], "secretName": exposure.tls_secret or f"{unit.name}-tls"}]
        if exposure.cluster_issuer:
            annotations["cert-manager.io/cluster-issuer"] = exposure.cluster_issuer
        if unit.max_request_body:
            # ingress-nginx refuses a request body over 1 MiB by default (413): a wheel is larger.
            annotations["nginx.ingress.kubernetes.io/proxy-body-size"] = nginx_size(unit.max_request_body)
        Ingress(
            name,
            metadata={**metadata, **({"annotations": annotations} if annotations else {})},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )
