"""The pod template of a service unit: least privilege unless the unit says otherwise."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Optional

import pulumi

from maestro_components.unit import ServiceUnit

# A UID and GID of 10000 or above never collide with a host's own users.
RUN_AS = 10001
# The name of a unit's metrics port, where it has one of its own.
METRICS_PORT = "metrics"


def file_key(path: str) -> str:
    """A ConfigMap key for a file path: keys allow only [-._a-zA-Z0-9]."""
    return re.sub(r"[^-._a-zA-Z0-9]", "_", path.strip("/"))


def volume_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index}"


def _probe(unit: ServiceUnit, *, initial_delay: int, alive_only: bool = False) -> dict[str, Any]:
    """Readiness asks the unit's health check, which may depend on what it calls (the engine's on
    its database); liveness (`alive_only`) asks only that the process answers on its port, so an
    outage elsewhere takes a pod out of its Service without restarting it."""
    if unit.health_command:
        action: dict[str, Any] = {"exec": {"command": unit.health_command}}
    elif alive_only:
        action = {"tcpSocket": {"port": "http"}}
    else:
        action = {"httpGet": {"path": unit.health_path, "port": "http"}}
    return {**action, "initialDelaySeconds": initial_delay, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}


# Beyond what the probes take: scheduling a pod and pulling its image; and for a unit with data
# (replaced, not rolled), stopping the old pod and moving its ReadWriteOnce volume to the new one.
START_SECONDS = 180
VOLUME_MOVE_SECONDS = 120


def progress_deadline(unit: ServiceUnit, container: dict[str, Any]) -> int:
    """How long a rollout may go without a new pod becoming ready (progressDeadlineSeconds). A pod
    that can become ready does so before its liveness probe would first restart it (the initial
    delay, then failure threshold x period); one restart is forgiven, and its start allowed for."""
    probe = container["livenessProbe"]
    window = probe["initialDelaySeconds"] + probe["failureThreshold"] * probe["periodSeconds"]
    return START_SECONDS + 2 * window + (VOLUME_MOVE_SECONDS if unit.data else 0)


def rollout_wait(unit: ServiceUnit, deadline: int) -> int:
    """How long `pulumi up` waits for a rollout: the progress deadline for each of its rounds (a
    RollingUpdate at the default 25% surge, rounded up, and 25% unavailable, rounded down, or one
    Recreate), and a minute for Kubernetes to mark it failed and the provider to see it."""
    if unit.data:
        return deadline + 60
    replicas = unit.autoscaling.max_replicas if unit.autoscaling else unit.replicas
    per_round = -(-replicas // 4) + replicas // 4
    return deadline * -(-replicas // per_round) + 60


def pod_template(
    unit: ServiceUnit,
    labels: dict[str, str],
    service_account: pulumi.Input[str],
    config_map: pulumi.Input[str] | None,
    secret: pulumi.Input[str] | None,
    secret_files: pulumi.Input[str] | None,
    claims: list[pulumi.Input[str]],
    secrets_digest: Optional[pulumi.Input[str]] = None,
    scrape: Optional[str] = None,
) -> dict[str, Any]:
    """`scrape`: how the cluster's Prometheus finds the unit's metrics, if it is told at all:
    "service-monitor" (a named port the ServiceMonitor names) or "annotations" (prometheus.io/*)."""
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(unit.env.items())]
    env += [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for k in sorted(unit.secret_env)
    ]
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    # On Kubernetes a task's reports live as long as its pod: scratch space, like the rest.
    for i, path in enumerate(unit.writable + ([unit.reports] if unit.reports else [])):
        volumes.append({"name": volume_name("scratch", i), "emptyDir": {}})
        mounts.append({"name": volume_name("scratch", i), "mountPath": path})
    if unit.files:
        volumes.append({"name": "files", "configMap": {"name": config_map}})
        mounts += [
            {"name": "files", "mountPath": path, "subPath": file_key(path), "readOnly": True}
            for path in sorted(unit.files)
        ]
    if unit.secret_files:
        # Readable by the pod's group only (fsGroup), never by others.
        volumes.append({"name": "secret-files", "secret": {"secretName": secret_files, "defaultMode": 0o440}})
        mounts += [
            {"name": "secret-files", "mountPath": path, "subPath": file_key(path), "readOnly": True}
            for path in sorted(unit.secret_files)
        ]
    for i, (volume, claim) in enumerate(zip(unit.data, claims)):
        volumes.append({"name": volume_name("data", i), "persistentVolumeClaim": {"claimName": claim}})
        mounts.append({"name": volume_name("data", i), "mountPath": volume.path})

    container: dict[str, Any] = {
        "name": unit.component,
        "image": unit.image,
        "imagePullPolicy": "Always",
        "env": env,
        "resources": unit.resources,
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if unit.command is not None:
        container["command"] = unit.command
    if unit.args is not None:
        container["args"] = unit.args
    if unit.port is not None:
        container["ports"] = [{"name": "http" if unit.health_path else "tcp", "containerPort": unit.port}]
    if scrape and unit.metrics and unit.metrics.port != unit.port:
        container.setdefault("ports", []).append({"name": METRICS_PORT, "containerPort": unit.metrics.port})
    if unit.health_path or unit.health_command:
        container["readinessProbe"] = _probe(unit, initial_delay=5)
        container["livenessProbe"] = _probe(unit, initial_delay=30, alive_only=True)

    metadata: dict[str, Any] = {"labels": labels}
    annotations: dict[str, Any] = {}
    if unit.files:
        # A change to a mounted file must roll the pods: subPath mounts never see updates.
        annotations["maestro.dev/files-digest"] = pulumi.Output.all(*(unit.files[p] for p in sorted(unit.files))).apply(
            lambda contents: hashlib.sha256("\0".join(contents).encode()).hexdigest()[:16]
        )
    if secrets_digest is not None:
        # Nor do env values read from a Secret, nor subPath-mounted secret files: a rotated
        # secret rolls the pods too.
        annotations["maestro.dev/secrets-digest"] = secrets_digest
    if scrape == "annotations" and unit.metrics:
        # Read by a Prometheus configured with the usual kubernetes-pods scrape job.
        annotations.update(
            {"prometheus.io/scrape": "true", "prometheus.io/port": str(unit.metrics.port), "prometheus.io/path": unit.metrics.path}
        )
    if annotations:
        metadata["annotations"] = annotations
    return {
        "metadata": metadata,
        "spec": {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "fsGroup": RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
            **({"restartPolicy": "Never"} if unit.kind == "task" else {}),
        },
    }
