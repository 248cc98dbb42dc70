"""A stack's settings become products on a platform, wired by the wiring table."""

from __future__ import annotations

from typing import Any, TypeVar

from maestro_components.catalog import load_catalog
from maestro_components.options import Build
from maestro_components.products.deploy import deploy_products
from maestro_components.products.facts import PRODUCTS
from maestro_components.prometheus import Prometheus, PrometheusArgs
from maestro_components.unit import Platform
from maestro_components.wiring import WIRING, override_of

from maestro_deploy.config.exposure import offered_to
from maestro_deploy.config.settings import StackSettings
from maestro_deploy.config.stack_file import PROJECT_ROOT
from maestro_deploy.config.validation import products
from maestro_deploy.program.graph import describe_wiring
from maestro_deploy.program.outputs import product_outputs
from maestro_deploy.program.platform import ephemeral_labels, make_platform
from maestro_deploy.program.references import References

T = TypeVar("T")


def build(stack: str, settings: StackSettings) -> dict[str, Any]:
    """Register every product the settings ask for; return the stack outputs."""
    sized = with_size_defaults(settings)
    refs = References()
    gate = refs.compatibility_gate(settings)
    labels = {**ephemeral_labels(settings), **({"maestro.dev/compatibility": gate} if gate else {})}
    platform = make_platform(stack, settings, labels)
    options = {key: located(product) for _, key, product in products(sized)}
    endpoints = {
        call.setting: refs.url(endpoint)
        for call in WIRING
        if call.caller in options and (endpoint := override_of(sized.components, call)) is not None
    }
    target = sized.components.quality_fabric and sized.components.quality_fabric.target
    args = {
        "engine": {"admitted_from": offered_to(settings)},
        "quality-fabric": {"test_config_name": f"{stack} tests", "api_token": target.api_token if target else None},
    }
    deployed = deploy_products(platform, options, endpoints=endpoints, args={k: v for k, v in args.items() if k in options})
    if settings.backup and settings.platform == "kubernetes":
        # On Docker, `maestro-deploy backup` takes them (check says so).
        platform.schedule_backups(settings.backup)
    outputs: dict[str, Any] = {"platform": settings.platform}
    for key, component in deployed.items():
        outputs.update(product_outputs(key, component, offered=bool(offered_to(settings))))
    observed(stack, settings, platform, outputs)
    catalog = load_catalog()
    outputs["versions"] = {key: options[key].version or catalog[key].version for key in deployed}
    outputs["wiring"] = describe_wiring(platform.units, lambda unit: platform.endpoints(unit).public_url)
    return {k: v for k, v in outputs.items() if v is not None}


def observed(stack: str, settings: StackSettings, platform: Platform, outputs: dict[str, Any]) -> None:
    """A Prometheus of the stack's own, last: it scrapes every unit deployed before it."""
    o = settings.observability
    if o and o.metrics and o.metrics.bundled:
        prometheus = Prometheus("prometheus", PrometheusArgs(platform=platform, stack=stack, options=located(o.metrics)))
        outputs["prometheus_url"] = prometheus.public_url or prometheus.url


def located(options: T) -> T:
    """The options with every build context absolute, taken from the project directory, so that
    a component never depends on where the program runs from."""
    update = {}
    if options.build is not None:
        update["build"] = _absolute(options.build)
    database = getattr(options, "database", None)
    if database is not None and database.build is not None:
        update["database"] = database.model_copy(update={"build": _absolute(database.build)})
    return options.model_copy(update=update) if update else options


def _absolute(build: Build) -> Build:
    return build.model_copy(update={"context": str((PROJECT_ROOT / build.context).resolve())})


REPLICAS_BY_SIZE = {"small": 1, "medium": 2, "large": 3}


def with_size_defaults(settings: StackSettings) -> StackSettings:
    """Give every stateless product without `replicas` or `autoscaling` the stack size's replicas."""
    # One container per unit on Docker: the size only scales a cluster.
    replicas = REPLICAS_BY_SIZE[settings.size] if settings.platform == "kubernetes" else 1
    updates = {
        name: product.model_copy(update={"replicas": replicas})
        for name, key, product in products(settings)
        if not PRODUCTS[key].single_replica and product.replicas is None and not product.autoscaling
    }
    components = settings.components.model_copy(update=updates)
    return settings.model_copy(update={"components": components})
