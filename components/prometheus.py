"""A Prometheus of the stack's own (Docker's `maestro:observability.metrics: {bundled: true}`):
it scrapes every unit that serves metrics, from a config generated from the units themselves."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import yaml

from maestro_components.options import BundledMetrics
from maestro_components.products.common import build_source
from maestro_components.unit import DataVolume, MetricsEndpoint, Platform, ServiceUnit

VERSION = "2.42.0"  # Debian bookworm's prometheus package
IMAGE = f"maestro-prometheus:{VERSION}"
PORT = 9090
CONFIG = "/etc/prometheus/prometheus.yml"
DATA = "/prometheus"
# Short, for a development stack: a new unit is scraped within seconds (docs/observability.md).
SCRAPE_INTERVAL = "5s"


def scrape_config(units: list[ServiceUnit], stack: str) -> str:
    """One job per unit that serves metrics, named after it, at its in-network name: the
    target list follows the units, and is written by nobody."""
    jobs = [
        {
            "job_name": unit.name,
            "metrics_path": unit.metrics.path,
            "static_configs": [{"targets": [f"{unit.name}:{unit.metrics.port}"], "labels": {"product": unit.product, "stack": stack}}],
        }
        for unit in units
        if unit.metrics is not None and unit.kind == "service"
    ]
    config = {"global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL}, "scrape_configs": jobs}
    return "# Generated from the stack's units by maestro-deploy: edit the stack, not this file.\n" + yaml.safe_dump(config, sort_keys=False)


@dataclass
class PrometheusArgs:
    platform: Platform
    stack: str
    options: BundledMetrics


class Prometheus(pulumi.ComponentResource):
    """Deployed after every product, since it scrapes what the platform runs by then."""

    url: Optional[str]
    public_url: Optional[str]

    def __init__(self, name: str, args: PrometheusArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:observability:Prometheus", name, None, opts)
        unit = ServiceUnit(
            product="prometheus",
            component="server",
            name=name,
            image=args.options.image or IMAGE,
            version=VERSION,
            kind="service",
            resources={"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            port=PORT,
            health_path="/-/ready",
            public_host="prometheus",
            metrics=MetricsEndpoint(PORT),  # it scrapes itself too
            telemetry=False,
            args=[f"--config.file={CONFIG}", f"--storage.tsdb.path={DATA}", f"--web.listen-address=:{PORT}"],
            writable=["/tmp"],
            data=[DataVolume(path=DATA, size="10Gi")],
            build=build_source(args.options.build),
        )
        scraped = [u for u in args.platform.units if u.metrics is not None and u.kind == "service"]
        config = scrape_config(scraped + [unit], args.stack)
        unit.files[CONFIG] = config
        # Prometheus reads its config once: a changed unit list must recreate its container.
        unit.env["PROMETHEUS_CONFIG_SHA256"] = hashlib.sha256(config.encode()).hexdigest()[:16]
        unit.calls = [u.name for u in scraped]
        args.platform.deploy(unit, parent=self)
        endpoints = args.platform.endpoints(unit)
        self.url, self.public_url = endpoints.internal_url, endpoints.public_url
        self.register_outputs({"url": self.url, "public_url": self.public_url})
