"""Maestro's Pulumi components: each product, the platforms it runs on, and their options.

    from maestro_components import Engine, EngineArgs, EngineOptions, Exposure, KubernetesPlatform

Every name below is importable from here; each lives in the module it is listed under:
- the products, a ComponentResource each, configured by its Args;
- a call of the wiring table (`maestro_components.wiring.WIRING`), and the helper that deploys by it;
- the platforms, where the units run, and how browsers reach them;
- the options, what a stack file's product keys hold;
- the contract between a product and a platform, and the catalog's defaults.

They are imported on first use: the tool's `check` reads the catalog through this package and must
not pay for Pulumi's Kubernetes and Docker SDKs (seconds) when it registers nothing.
"""

from maestro_components.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "products.engine": "Engine EngineArgs",
        "products.frontend": "Frontend FrontendArgs",
        "products.hive": "Hive HiveArgs",
        "products.quality_fabric": "QualityFabric QualityFabricArgs",
        "products.ml_platform": "MlPlatform MlPlatformArgs",
        "products.registry": "Registry RegistryArgs",
        "wiring": "Call",
        "products.deploy": "deploy_products",
        "kubernetes.platform": "KubernetesPlatform",
        "docker.platform": "DockerPlatform",
        "exposure": "Exposure DockerExposure",
        "options": "EngineOptions FrontendOptions HiveOptions QualityFabricOptions MlPlatformOptions RegistryOptions "
        "DatabaseOptions Storage Resources Amounts Autoscaling Build BackupOptions",
        "unit": "ServiceUnit Platform Endpoints Dump",
        "catalog": "load_catalog",
    },
)
