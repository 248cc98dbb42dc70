"""The Pulumi program: a stack's settings become products on a platform, wired by URLs.

`__main__.py` runs `main()` under the Pulumi CLI; `maestro-deploy render` runs
the very same `main()` under Pulumi's mocks.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pulumi

from maestro_components.products.engine import Engine, EngineArgs
from maestro_components.products.frontend import Frontend, FrontendArgs
from maestro_components.products.hive import Hive, HiveArgs
from maestro_components.products.ml_platform import MlPlatform, MlPlatformArgs
from maestro_components.products.quality_fabric import QualityFabric, QualityFabricArgs
from maestro_components.products.registry import Registry, RegistryArgs
from maestro_components.catalog import load_catalog
from maestro_components.prometheus import Prometheus, PrometheusArgs
from maestro_components.options import Build
from maestro_components.products.facts import PRODUCTS
from maestro_components.unit import Platform

from maestro_deploy.config.exposure import exposure_of, frontend_origin
from maestro_deploy.config.settings import Docker, StackSettings
from maestro_deploy.config.stack_file import PROJECT_ROOT
from maestro_deploy.program.graph import describe_wiring
from maestro_deploy.config.environment import check_environments, environments
from maestro_deploy.program.references import References
from maestro_deploy.config.validation import parse_settings, products, stack_name_problems, warnings


T = TypeVar("T")


def read_pulumi_config() -> dict[str, Any]:
    """The stack's whole config map, as the Pulumi engine handed it to this program.

    The SDK offers no public way to list every key, and a typo in a key name
    must be reported, not ignored; so read the map the language host set.
    """
    from pulumi.runtime.config import CONFIG

    raw: dict[str, Any] = {}
    for key, value in CONFIG.get().items():
        try:
            raw[key] = json.loads(value)  # objects and lists arrive as JSON
        except ValueError:
            raw[key] = value  # a plain string
    return raw


def main() -> dict[str, Any]:
    from pulumi.runtime.config import is_config_secret

    from maestro_deploy.config.errors import ConfigError

    raw = read_pulumi_config()
    try:
        if problems := stack_name_problems(pulumi.get_stack()):
            raise ConfigError(problems)
        settings = parse_settings(raw, frozenset(key for key in raw if is_config_secret(key)))
        incompatible, unchecked = check_environments(environments(settings))
        if incompatible:
            raise ConfigError(incompatible)
    except ConfigError as err:
        # RunError is reported as its message alone: no traceback, nothing registered.
        raise pulumi.RunError(f"invalid stack config:\n{err}") from None
    for warning in warnings(settings) + unchecked:
        pulumi.log.warn(str(warning))
    outputs = build(pulumi.get_stack(), settings)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs


def ephemeral_labels(settings: StackSettings) -> dict[str, str]:
    """What `ephemeral list` and `reap` find a throwaway stack's resources by."""
    e = settings.ephemeral
    if e is None:
        return {}
    return {
        "maestro.dev/ephemeral": "true",
        "maestro.dev/owner": e.owner,
        "maestro.dev/created": str(e.created),
        "maestro.dev/expires": str(e.expires),
    }


def make_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    if settings.platform == "docker":
        return make_docker_platform(stack, settings, labels)
    return make_kubernetes_platform(stack, settings, labels)


def make_docker_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    import pulumi_docker

    from maestro_components.docker.platform import DockerPlatform

    d = settings.docker or Docker()
    # An explicit provider: the daemon is the one the stack names, else DOCKER_HOST or the local one.
    provider = pulumi_docker.Provider("docker", host=d.host)
    return DockerPlatform(
        stack,
        provider,
        exposure_of(settings),
        # A throwaway stack protects nothing, so that its teardown is complete.
        protect_data=settings.ephemeral is None,
        labels=labels,
        observability=settings.observability,
    )


def make_kubernetes_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    from pulumi_kubernetes.provider import Provider

    from maestro_components.kubernetes.platform import KubernetesPlatform

    k = settings.kubernetes
    # An explicit provider: nothing lands on whatever cluster the ambient kubeconfig names.
    provider = Provider("kubernetes", context=k.context, namespace=k.namespace)
    tls = k.tls
    platform = KubernetesPlatform(
        stack,
        k.namespace,
        provider,
        exposure_of(settings),
        protect_data=settings.ephemeral is None,
        labels=labels,
        create_namespace=k.create_namespace,
        observability=settings.observability,
    )
    if tls and tls.certificate:
        platform.tls_from(tls.certificate, tls.key)
    return platform


def offered_to(settings: StackSettings) -> list[str]:
    """The namespaces whose pods may call the engine's in-cluster API; none on Docker, where
    it answers inside the stack's own network only."""
    return list(settings.kubernetes.admit_namespaces) if settings.platform == "kubernetes" and settings.kubernetes else []


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


def observed(stack: str, settings: StackSettings, platform: Platform, outputs: dict[str, Any]) -> None:
    """A Prometheus of the stack's own, last: it scrapes every unit deployed before it."""
    o = settings.observability
    if o and o.metrics and o.metrics.bundled:
        prometheus = Prometheus("prometheus", PrometheusArgs(platform=platform, stack=stack, options=located(o.metrics)))
        outputs["prometheus_url"] = prometheus.public_url or prometheus.url


def build(stack: str, settings: StackSettings) -> dict[str, Any]:
    """Register every product the settings ask for; return the stack outputs."""
    c = with_size_defaults(settings).components
    refs = References()
    gate = refs.compatibility_gate(settings)
    labels = {**ephemeral_labels(settings), **({"maestro.dev/compatibility": gate} if gate else {})}
    platform = make_platform(stack, settings, labels)
    catalog = load_catalog()
    outputs: dict[str, Any] = {"platform": settings.platform}
    versions: dict[str, str] = {}

    engine = None
    if c.engine:
        # The stack's frontend calls this engine from its browsers' origin, unless it has a backend of its own.
        own_frontend = c.frontend is not None and c.frontend.backend is None
        origins = [o for o in [frontend_origin(settings)] if o and own_frontend]
        callers = offered_to(settings)
        engine = Engine(
            "engine",
            EngineArgs(platform=platform, options=located(c.engine), frontend_origins=origins, admitted_from=callers),
        )
        outputs["engine_url"] = engine.public_api_url
        if callers:
            # Offered to other stacks only where their pods may call it.
            outputs["engine_internal_url"] = engine.api_url
        versions["engine"] = c.engine.version or catalog["engine"].version

    frontend = None
    if c.frontend:
        external = refs.url(c.frontend.backend) if c.frontend.backend else None
        frontend = Frontend(
            "frontend",
            FrontendArgs(
                platform=platform,
                options=located(c.frontend),
                api_base=external or engine.public_api_url,
                backend=external or "engine",
            ),
        )
        outputs["frontend_url"] = frontend.public_url
        outputs["frontend_internal_url"] = frontend.url
        versions["frontend"] = c.frontend.version or catalog["frontend"].version

    if c.hive:
        external = refs.url(c.hive.engine) if c.hive.engine else None
        hive = Hive(
            "hive",
            HiveArgs(
                platform=platform,
                options=located(c.hive),
                api_base=external or engine.api_url,
                calls=[external or "engine"],
            ),
        )
        outputs["hive_internal_url"] = hive.url
        versions["hive"] = c.hive.version or catalog["hive"].version

    if qf := c.quality_fabric:
        target = qf.target
        api_base = refs.url(target.api_base) if target and target.api_base else None
        frontend_url = refs.url(target.frontend_url) if target and target.frontend_url else None
        # The runner is a task: the platform starts it once what it calls is ready.
        calls = [url for url in (api_base, frontend_url) if url is not None]
        if api_base is None:
            api_base, calls = engine.api_url, calls + ["engine"]
        if frontend_url is None and frontend is not None:
            # What a browser loads, where there is one: the e2e suite checks CORS from its origin,
            # and calls the API the frontend's config names, as a browser would: both are calls
            # through the public hosts, which the network rules must let out.
            frontend_url, calls = frontend.public_url or frontend.url, calls + ["frontend"]
            calls += [url for url in (frontend.public_url, frontend.api_base) if url is not None]
        fabric = QualityFabric(
            "quality-fabric",
            QualityFabricArgs(
                platform=platform,
                options=located(qf),
                test_config_name=f"{stack} tests",
                api_base=api_base,
                frontend_url=frontend_url,
                calls=calls,
                api_token=target.api_token if target else None,
            ),
        )
        outputs["quality_fabric_url"] = fabric.public_url
        outputs["quality_fabric_api_internal_url"] = fabric.api_url
        versions["quality-fabric"] = qf.version or catalog["quality-fabric"].version

    if c.ml_platform:
        ml = MlPlatform("ml-platform", MlPlatformArgs(platform=platform, options=located(c.ml_platform)))
        outputs["ml_platform_internal_url"] = ml.url
        versions["ml-platform"] = c.ml_platform.version or catalog["ml-platform"].version

    if c.registry:
        registry = Registry("registry", RegistryArgs(platform=platform, options=located(c.registry)))
        outputs["registry_url"] = registry.public_url
        outputs["registry_internal_url"] = registry.url
        # The uploaders' login: the password is a secret output (`pulumi stack output --show-secrets`).
        outputs["registry_username"] = registry.username
        outputs["registry_password"] = registry.password
        versions["registry"] = c.registry.version or catalog["registry"].version

    observed(stack, settings, platform, outputs)
    outputs["versions"] = versions
    outputs["wiring"] = describe_wiring(platform.units, lambda unit: platform.endpoints(unit).public_url)
    return {k: v for k, v in outputs.items() if v is not None}

