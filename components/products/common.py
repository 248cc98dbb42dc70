"""Turning a catalog entry plus a stack's product settings into service units."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.catalog import ProductDefaults
from components.unit import Autoscaling, BuildSource, DataVolume, ServiceUnit
from maestro_deploy.settings import Build, Product, Storage
from maestro_deploy.stack_file import PROJECT_ROOT


def merge_resources(defaults: dict[str, dict[str, str]], override) -> dict[str, dict[str, str]]:
    merged = {kind: dict(amounts) for kind, amounts in defaults.items()}
    if override is not None:
        for kind in ("requests", "limits"):
            amounts = getattr(override, kind)
            if amounts is not None:
                merged.setdefault(kind, {}).update(amounts.model_dump(exclude_none=True))
    return merged


def unit_from_catalog(
    product: str,
    component: str,
    defaults: ProductDefaults,
    settings: Product,
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
    version = settings.version or defaults.version
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
        product=product,
        component=component,
        name=product if len(defaults.units) == 1 else f"{product}-{component}",
        image=settings.image or f"{unit.image}:{version}" + (f"@{settings.digest}" if settings.digest else ""),
        version=version,
        kind=unit.kind,
        # A task runs once. Validation refuses replicas > 1 for a product that owns a volume.
        replicas=1 if unit.kind == "task" else (settings.replicas or 1),
        autoscaling=(
            Autoscaling(**settings.autoscaling.model_dump())
            if settings.autoscaling and unit.kind == "service"
            else None
        ),
        resources=merge_resources(unit.resources, settings.resources),
        port=unit.port,
        health_path=unit.health_path,
        public_host=unit.public_host,
        # Wired values come first in code but last in effect: validation has
        # already refused `env` keys that collide with them.
        env={**settings.env, **(env or {})},
        secret_env=dict(secret_env or {}),
        files=dict(files or {}),
        writable=list(unit.writable),
        reports=unit.reports,
        data=data,
        calls=list(calls or []),
        browser_calls=list(browser_calls or []),
        args=args,
        build=build_source(settings.build),
    )


def build_source(build: Optional[Build]) -> Optional[BuildSource]:
    """A stack's `build:` with its context made absolute: relative to the project directory."""
    if build is None:
        return None
    context = (PROJECT_ROOT / build.context).resolve()
    return BuildSource(context=str(context), dockerfile=build.dockerfile, args=dict(build.args))
