"""What runs, said once for every platform: the contract between a product and a platform.

A product fills in `ServiceUnit`s; a platform turns each into its own objects
(a Deployment and a Service, or a container). Neither side knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Protocol

import pulumi


@dataclass(frozen=True)
class DataVolume:
    """Data that must survive a redeploy (a PersistentVolumeClaim, a named volume)."""

    path: str
    size: str
    storage_class: Optional[str] = None
    existing: Optional[str] = None  # a volume the platform mounts but never creates or deletes


@dataclass(frozen=True)
class Dump:
    """How to copy a unit's data consistently while it runs, where a copy of its volume would not
    be (a database's files change under the copy): a shell command, run in the unit's own image
    with the unit's secret files at their paths, that reaches the unit at "$SOURCE_HOST" on
    "$SOURCE_PORT" and writes the copy to "$BACKUP_FILE"."""

    command: str
    extension: str  # of the file it writes: "dump"


@dataclass(frozen=True)
class BuildSource:
    """Build the image from local source, on platforms that can (Docker)."""

    context: str  # absolute path of the build context
    dockerfile: Optional[str] = None
    args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int  # target average CPU, percent of requests


@dataclass(frozen=True)
class MetricsEndpoint:
    """Where a unit serves Prometheus metrics: a port of its own, or its service port."""

    port: int
    path: str = "/metrics"


@dataclass
class ServiceUnit:
    product: str  # the product key: app.kubernetes.io/name
    component: str  # the unit's role within the product: app.kubernetes.io/component
    name: str  # DNS-safe name, unique in the stack: "engine", "quality-fabric-api"
    image: str  # full reference, tag (and digest) included
    version: str  # app.kubernetes.io/version
    kind: Literal["service", "task"]
    resources: dict[str, dict[str, str]]
    replicas: int = 1
    # Named other than its product's default ("engine-blue"): selectors then carry its name too,
    # so two of a product coexist; the default keeps the selectors deployed stacks have (immutable).
    distinct: bool = False
    autoscaling: Optional[Autoscaling] = None
    port: Optional[int] = None
    health_path: Optional[str] = None  # HTTP readiness and liveness
    health_command: Optional[list[str]] = None  # for units that speak no HTTP (PostgreSQL)
    metrics: Optional[MetricsEndpoint] = None  # scraped by the stack's Prometheus, where one is wired
    # Its process reads the OpenTelemetry variables: it gets the stack's OTLP endpoint, where one is set.
    telemetry: bool = True
    public_host: Optional[str] = None  # first DNS label of its public host, if browsers reach it
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # Output.secret values only
    files: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # read-only file path -> content
    secret_files: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # the same, for Output.secret values
    writable: list[str] = field(default_factory=list)  # scratch paths; the root filesystem is read-only
    reports: Optional[str] = None  # where a task leaves reports, to be collected after it ends
    deadline_seconds: Optional[int] = None  # a task still running after this is stopped, and fails
    max_request_body: Optional[str] = None  # a quantity: the largest request its public host takes
    data: list[DataVolume] = field(default_factory=list)
    dump: Optional[Dump] = None  # how its data is backed up; None: by an archive of its volumes
    # The process to start instead of the image's entrypoint (the registry's, to serve metrics
    # beside pypiserver); `args` are its arguments.
    command: Optional[list[str]] = None
    args: Optional[list[str]] = None
    build: Optional[BuildSource] = None  # where `image` comes from, when it is built here
    # What the unit's own process calls: unit names in the stack, or external URLs (an
    # Output when read from another stack; never one with credentials in it).
    # Network rules follow these edges and nothing else.
    calls: list[pulumi.Input[str]] = field(default_factory=list)
    # Other deployments whose workloads call this unit on its in-platform URL: namespaces, on
    # Kubernetes (each gets an ingress rule); nothing elsewhere can reach it.
    admitted_from: list[str] = field(default_factory=list)
    # What the unit hands to browsers to call (the frontend's API base): drawn, never a network rule.
    browser_calls: list[pulumi.Input[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Endpoints:
    """Where a deployed unit answers: inside the platform, and for browsers."""

    internal_url: Optional[str]
    public_url: Optional[str]


class Platform(Protocol):
    """How a unit runs. Implemented by each platform; used by every product."""

    units: list[ServiceUnit]  # every unit deployed so far, in order

    def endpoints(self, unit: ServiceUnit) -> Endpoints:
        """The URLs `unit` will answer on, known before it is deployed."""

    def task_url(self, internal_url: str, public_url: Optional[str]) -> str:
        """Which of a unit's two URLs a task (a test run) reaches it on, where this platform runs tasks."""

    def deploy(self, unit: ServiceUnit, parent: pulumi.Resource) -> pulumi.ComponentResource:
        """Register `unit`'s resources as children of `parent`."""


def refuse_a_second_claim(platform: Platform, unit: ServiceUnit) -> None:
    """A unit's name and public URL are its own on a platform: two units of one name would be
    one object twice, and two on one public URL one host (or published port) for both."""
    public = platform.endpoints(unit).public_url
    for other in platform.units:
        if other.name == unit.name:
            raise ValueError(
                f"{unit.product}: a unit named {unit.name!r} already runs on this platform ({other.product}'s); "
                f"give the component another name"
            )
        if public is not None and platform.endpoints(other).public_url == public:
            raise ValueError(f"{unit.product}: {unit.name}'s public URL {public} is already {other.name}'s on this platform")

