"""The library as a program reads it: every public name from the top of `maestro_components`,
a frontend's backend checked against what the platform runs, and a program's exports in
`rendered.outputs`."""

import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s
import pytest

import maestro_components
from maestro_components import (
    Autoscaling,
    Build,
    Engine,
    EngineArgs,
    EngineOptions,
    Exposure,
    Frontend,
    FrontendArgs,
    FrontendOptions,
    KubernetesPlatform,
    MlPlatform,
    MlPlatformArgs,
    MlPlatformOptions,
    Registry,
    RegistryArgs,
    RegistryOptions,
    deploy_products,
)
from maestro_deploy.testing import render_program


@pytest.mark.parametrize("name", maestro_components.__all__)
def test_every_exported_name_is_there_from_the_top(name):
    value = getattr(maestro_components, name)
    assert value.__module__.startswith("maestro_components.")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="Engin"):
        maestro_components.Engin  # noqa: B018


def test_check_does_not_pay_for_the_platform_sdks():
    """The top-level names load on first use: `check` reads the catalog through the package
    and registers nothing, so Pulumi's Kubernetes and Docker SDKs (seconds to import) stay out."""
    code = (
        "import sys; from maestro_deploy import cli; from maestro_deploy.config.validation import parse_settings; "
        "print(sorted(m for m in ('pulumi_kubernetes', 'pulumi_docker') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def acme(backend: str):
    def main() -> None:
        platform = KubernetesPlatform("test", "acme", k8s.Provider("acme"), Exposure(domain="acme.example.com"))
        engine = Engine("maestro-engine", EngineArgs(platform=platform))
        Frontend("maestro-frontend", FrontendArgs(platform=platform, api_base=engine.public_api_url, backend=backend))

    return main


@pytest.mark.parametrize("backend", ["engine", "maestro-engine-db", "maestro-engin"])
def test_a_backend_that_names_no_api_on_the_platform_is_refused(backend):
    with pytest.raises(ValueError, match=rf"backend '{backend}' is no API unit on this platform \(one of: maestro-engine\)"):
        render_program(acme(backend))


@pytest.mark.parametrize("backend", ["maestro-engine", "https://api.elsewhere.example.com/api"])
def test_a_backend_that_is_the_engine_or_a_url_is_taken(backend):
    rendered = render_program(acme(backend))
    assert rendered.unit("maestro-frontend").env["VITE_MAESTRO_API_BASE"] == "http://api.acme.example.com/api"


def test_outputs_hold_what_the_program_exported_and_no_earlier_run_s():
    def first() -> None:
        pulumi.export("url", "https://a.example.com")
        pulumi.export("password", pulumi.Output.secret("hunter2"))

    def second() -> dict:
        pulumi.export("other", "b")
        return {"returned": "c"}

    assert render_program(first).outputs == {"url": "https://a.example.com", "password": "[secret]"}
    assert render_program(second).outputs == {"other": "b", "returned": "c"}


def two(first: str, second: str, platform_of, product=Engine, args=EngineArgs):
    def main() -> None:
        platform = platform_of()
        product(first, args(platform=platform))
        product(second, args(platform=platform))

    return main


def kubernetes_platform():
    return KubernetesPlatform("test", "acme", k8s.Provider("acme"), Exposure(domain="acme.example.com"))


def docker_platform(exposure=None):
    import pulumi_docker as docker

    from maestro_components import DockerExposure, DockerPlatform

    return DockerPlatform("test", docker.Provider("docker"), exposure or DockerExposure())


def test_two_engines_of_one_name_on_a_platform_are_refused():
    """Two components, one unit name: one object twice, which the API server or Docker would refuse halfway."""
    # The database is deployed first: its unit is the first one claimed twice.
    with pytest.raises(ValueError, match="engine: a unit named 'shop-db' already runs on this platform \\(engine's\\)"):
        render_program(two("shop", "shop", kubernetes_platform))


def test_another_products_unit_of_the_same_name_is_refused():
    """`Engine("shop")` runs `shop` and `shop-db`: a frontend named `shop-db` would be the database's objects."""

    def main() -> None:
        platform = kubernetes_platform()
        Engine("shop", EngineArgs(platform=platform))
        Frontend("shop-db", FrontendArgs(platform=platform, api_base="https://api.example.com/api", backend="shop"))

    with pytest.raises(ValueError, match="frontend: a unit named 'shop-db' already runs on this platform \\(engine's\\)"):
        render_program(main)


@pytest.mark.parametrize(
    "platform_of,url",
    [(kubernetes_platform, "http://api.acme.example.com"), (docker_platform, "http://localhost:8000")],
    ids=["kubernetes", "docker"],
)
def test_two_engines_on_one_public_url_are_refused(platform_of, url):
    """The public host comes from the catalog: a second engine on the platform would answer on the
    first one's URL (on Docker's loopback, its published port)."""
    with pytest.raises(ValueError, match=f"engine: engine-green's public URL {url}/? is already engine-blue's on this platform"):
        render_program(two("engine-blue", "engine-green", platform_of))


def test_two_published_ports_under_a_domain_are_refused():
    """Under a domain each unit has its own host name, but two units on one port would both listen
    on that port of the Docker host: a customer's own unit beside the engine, on the engine's port."""
    from maestro_components import DockerExposure, ServiceUnit

    def main() -> None:
        platform = docker_platform(DockerExposure(domain="vm.example.com"))
        Engine("engine", EngineArgs(platform=platform))
        own = ServiceUnit(
            product="acme", component="web", name="acme-web", image="registry.example.com/acme/web:1.0.0",
            version="1.0.0", kind="service", resources={}, port=8000, public_host="shop",
        )
        platform.deploy(own, parent=pulumi.ComponentResource("acme:web:Web", "acme-web"))

    with pytest.raises(ValueError, match="acme: acme-web would publish port 8000, which engine publishes on this platform"):
        render_program(main)


def test_two_engines_coexist_where_neither_is_public():
    """Without public hosts, the second engine claims no URL: both run, each under its own names."""
    rendered = render_program(two("engine-blue", "engine-green", lambda: KubernetesPlatform("test", "acme", k8s.Provider("acme"), Exposure())))
    assert {"engine-blue", "engine-blue-db", "engine-green", "engine-green-db"} <= {u.name for u in rendered.units()}


@pytest.mark.parametrize(
    "call,error,message",
    [
        (lambda p: deploy_products(p, {"engin": EngineOptions()}), ValueError, "options: unknown product 'engin'; expected one of: engine, "),
        (lambda p: deploy_products(p, {"engine": FrontendOptions()}), TypeError, "options\\['engine'\\]: expected EngineOptions, got FrontendOptions"),
        (lambda p: deploy_products(p, ["engine"]), TypeError, "options: expected a mapping of product key to its options, got list"),
        (lambda p: deploy_products(p, {"engine": EngineOptions()}, names={"frontend": "web"}), ValueError, "names: 'frontend' is not a product being deployed"),
        (lambda p: deploy_products(p, {"engine": EngineOptions()}, args={"egine": {}}), ValueError, "args: 'egine' is not a product being deployed"),
        (
            lambda p: deploy_products(p, {"frontend": FrontendOptions()}, endpoints={"frontend.backnd": "https://api.example.com/api"}),
            ValueError,
            "endpoints: 'frontend.backnd' is no call of the products being deployed \\(expected one of: frontend.backend\\)",
        ),
    ],
    ids=["unknown-product", "wrong-options", "not-a-mapping", "names-key", "args-key", "endpoints-key"],
)
def test_deploy_products_refuses_what_it_would_ignore_or_trip_on(call, error, message):
    """A misspelled key deployed nothing, or was ignored; the wrong options failed deep inside."""

    def main() -> None:
        call(kubernetes_platform())

    with pytest.raises(error, match=message):
        render_program(main)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: Frontend("web", FrontendArgs(platform=p, api_base=None, backend=None)), "frontend: give api_base"),
        (lambda p: Registry("reg", RegistryArgs(platform=p, options=RegistryOptions(replicas=3))), "registry: one replica and no autoscaling"),
        (
            lambda p: MlPlatform("ml", MlPlatformArgs(platform=p, options=MlPlatformOptions(autoscaling=Autoscaling(min_replicas=2, max_replicas=5)))),
            "ml-platform: one replica and no autoscaling",
        ),
        (lambda p: Engine("engine", EngineArgs(platform=p, options=EngineOptions(build=Build(context="reference")))), "engine: engine is to be built here, but a cluster pulls its images"),
    ],
    ids=["frontend-without-api", "registry-replicas", "ml-platform-autoscaling", "build-on-kubernetes"],
)
def test_a_program_is_held_to_what_a_stack_file_is(make, message):
    """What the tool's check refuses in a stack file, a component refuses in a program."""

    def main() -> None:
        make(kubernetes_platform())

    with pytest.raises(ValueError, match=message):
        render_program(main)


def plain_strings(value) -> list[str]:
    """Every string a registered input holds outside a secret."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in plain_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_program_gives_its_secrets_as_it_reads_them_from_its_config():
    """`config.require_secret(...)` is an Output: taken as it is, and secret wherever it lands."""
    from maestro_components import Hive, HiveArgs, HiveOptions

    def main():
        config = pulumi.Config("acme")
        platform = kubernetes_platform()
        registry = Registry("registry", RegistryArgs(platform=platform, options=RegistryOptions(password=config.require_secret("registry_password"))))
        engine = Engine("engine", EngineArgs(platform=platform))
        options = HiveOptions(api_token=config.require_secret("hive_token"))
        Hive("hive", HiveArgs(platform=platform, api_base=engine.api_url, calls=["engine"], options=options))
        return {"password": registry.password}

    given = {"acme:registry_password": "s3cret-password", "acme:hive_token": "t0ken-value-1"}
    rendered = render_program(main, given, secret_keys=list(given))
    assert rendered.run.outputs["password"] == "s3cret-password" and "password" in rendered.run.secret_outputs
    assert "MAESTRO_API_TOKEN" in rendered.unit("hive").secrets
    shown = [s for r in rendered.run.registered for s in plain_strings(r.inputs)]
    assert not [s for s in shown if "s3cret-password" in s or "t0ken-value-1" in s]


def test_a_secret_given_as_a_string_is_still_checked():
    with pytest.raises(ValueError, match="at least 1 character"):
        RegistryOptions(password="")
