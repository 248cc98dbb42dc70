"""Metrics and traces, the same on every platform: the OpenTelemetry variables a unit gets, and
where the OTLP collector is on the network."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from maestro_components.products.facts import OTEL_ENV
from maestro_components.unit import ServiceUnit
from maestro_components.wiring import CLUSTER_PROMETHEUS

DEFAULT_PROMETHEUS_NAMESPACE = CLUSTER_PROMETHEUS.default


def telemetry_env(unit: ServiceUnit, stack: str, otlp_endpoint: str) -> dict[str, str]:
    """The OpenTelemetry SDKs' own variables: where to send, who is sending, from which stack."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_SERVICE_NAME": unit.name,
        "OTEL_RESOURCE_ATTRIBUTES": f"service.version={unit.version},deployment.environment={stack}",
    }
    assert env.keys() == OTEL_ENV
    return env


def send_telemetry(unit: ServiceUnit, stack: str, otlp_endpoint: Optional[str]) -> None:
    """Wire `unit` to the collector: its variables, and a call to the endpoint (network rules
    follow calls). Units that speak no OpenTelemetry (PostgreSQL) are left alone."""
    if otlp_endpoint is None or not unit.telemetry:
        return
    shadowed = sorted(OTEL_ENV & unit.env.keys())
    if shadowed:
        raise ValueError(f"{unit.name}: env {', '.join(shadowed)}: set by the wiring; configure maestro:observability.otlp_endpoint")
    unit.env.update(telemetry_env(unit, stack, otlp_endpoint))
    unit.calls.append(otlp_endpoint)


def cluster_namespace(url: str) -> tuple[Optional[str], bool]:
    """The namespace a URL's host may name as a Service's in-cluster DNS name, and whether it
    certainly does: name.ns.svc[.cluster.local] does; the short form name.ns may (or it is a
    public two-label name, such as example.com)."""
    labels = (urlsplit(url).hostname or "").split(".")
    if labels[2:] in (["svc"], ["svc", "cluster", "local"]):
        return labels[1], True
    if len(labels) == 2:
        return labels[1], False
    return None, False
