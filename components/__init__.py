"""Maestro's Pulumi components: each product, the platforms it runs on, and their options.

    from maestro_components import Engine, EngineArgs, EngineOptions, Exposure, KubernetesPlatform

Every name below is importable from here; each lives in the module the table names. They are
imported on first use: the tool's `check` reads the catalog through this package and must not
pay for Pulumi's Kubernetes and Docker SDKs (seconds) when it registers nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    # products: a ComponentResource each, configured by its Args
    "Engine": "products.engine",
    "EngineArgs": "products.engine",
    "Frontend": "products.frontend",
    "FrontendArgs": "products.frontend",
    "Hive": "products.hive",
    "HiveArgs": "products.hive",
    "QualityFabric": "products.quality_fabric",
    "QualityFabricArgs": "products.quality_fabric",
    "MlPlatform": "products.ml_platform",
    "MlPlatformArgs": "products.ml_platform",
    "Registry": "products.registry",
    "RegistryArgs": "products.registry",
    # a call of the wiring table (maestro_components.wiring.WIRING), and the helper that deploys by it
    "Call": "wiring",
    "deploy_products": "products.deploy",
    # platforms: where the units run, and how browsers reach them
    "KubernetesPlatform": "kubernetes.platform",
    "Exposure": "exposure",
    "DockerPlatform": "docker.platform",
    "DockerExposure": "exposure",
    # options: what a stack file's product keys hold
    "EngineOptions": "options",
    "FrontendOptions": "options",
    "HiveOptions": "options",
    "QualityFabricOptions": "options",
    "MlPlatformOptions": "options",
    "RegistryOptions": "options",
    "DatabaseOptions": "options",
    "Storage": "options",
    "Resources": "options",
    "Amounts": "options",
    "Autoscaling": "options",
    "Build": "options",
    "BackupOptions": "options",
    # the contract between a product and a platform, and the catalog's defaults
    "ServiceUnit": "unit",
    "Platform": "unit",
    "Endpoints": "unit",
    "Dump": "unit",
    "load_catalog": "catalog",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
