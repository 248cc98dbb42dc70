"""Turning a catalog entry plus a product's options into service units."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pulumi

from maestro_components.catalog import ProductDefaults
from maestro_components.options import Build, ProductOptions, Storage, merge_resources
from maestro_components.products.facts import ProductFacts
from maestro_components.unit import Autoscaling, BuildSource, DataVolume, MetricsEndpoint, ServiceUnit


def unit_from_catalog(
    facts: ProductFacts,
    name: str,
    component: str,
    defaults: ProductDefaults,
    options: ProductOptions,
    *,
    env: Optional[dict[str, pulumi.Input[str]]] = None,
    secret_env: Optional[dict[str, pulumi.Input[str]]] = None,
    files: Optional[dict[str, pulumi.Input[str]]] = None,
    calls: Optional[list[pulumi.Input[str]]] = None,
    browser_calls: Optional[list[pulumi.Input[str]]] = None,
    storage: Optional[Storage] = None,
    args: Optional[list[str]] = None,
) -> ServiceUnit:
    unit = defaults.units[component]
    version = options.version or defaults.version
    if facts.single_replica and ((options.replicas or 1) > 1 or options.autoscaling):
        # A program is held to what a stack file is (the tool's check says the same with its key).
        raise ValueError(f"{facts.key}: one replica and no autoscaling: its data lives on a single ReadWriteOnce volume")
    # A component used directly gets the same check a stack file does: a variable the wiring
    # sets is never set twice (once in plain text beside a secret of the same name).
    shadowed = sorted(options.env.keys() & (facts.wired_env | set(env or {}) | set(secret_env or {})))
    if shadowed:
        raise ValueError(f"{facts.key}: env {', '.join(shadowed)}: set by the wiring; configure it through its own option")
    data = [
        DataVolume(
            path=path,
            size=(storage.size if storage and storage.size else size),
            storage_class=storage.storage_class if storage else None,
            existing=storage.existing if storage else None,
        )
        for path, size in unit.data.items()
    ]
    return ServiceUnit(
        product=facts.key,
        component=component,
        name=defaults.unit_name(name, component),
        distinct=name != facts.key,
        image=options.image or f"{unit.image}:{version}" + (f"@{options.digest}" if options.digest else ""),
        version=version,
        kind=unit.kind,
        # A task runs once. Validation refuses replicas > 1 for a product that owns a volume.
        replicas=1 if unit.kind == "task" else (options.replicas or 1),
        autoscaling=(
            Autoscaling(**options.autoscaling.model_dump())
            if options.autoscaling and unit.kind == "service"
            else None
        ),
        resources=merge_resources(unit.resources, options.resources),
        port=unit.port,
        health_path=unit.health_path,
        metrics=MetricsEndpoint(unit.metrics.port or unit.port, unit.metrics.path) if unit.metrics else None,
        public_host=unit.public_host,
        env={**options.env, **(env or {})},
        secret_env=dict(secret_env or {}),
        files=dict(files or {}),
        writable=list(unit.writable),
        reports=unit.reports,
        deadline_seconds=unit.deadline_seconds,
        data=data,
        calls=list(calls or []),
        browser_calls=list(browser_calls or []),
        args=args,
        build=build_source(options.build),
    )


def build_source(build: Optional[Build]) -> Optional[BuildSource]:
    """Where an image is built from. A relative context is taken from the working directory,
    which is the Pulumi project's when Pulumi runs the program (the tool makes it absolute first)."""
    if build is None:
        return None
    return BuildSource(context=str(Path(build.context).resolve()), dockerfile=build.dockerfile, args=dict(build.args))
