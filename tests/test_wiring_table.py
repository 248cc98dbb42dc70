"""The wiring table (maestro_components.wiring) names only what exists, and the library's
helper wires a customer's products from it as the tool's stacks are wired."""

import pytest
import yaml
from harness import render_env

from maestro_components.catalog import load_catalog
from maestro_components.options import EngineOptions, FrontendOptions, HiveOptions
from maestro_components.products.facts import PRODUCTS
from maestro_components.products import quality_fabric
from maestro_components.wiring import WIRING, override_of
from maestro_deploy.config.settings import Components
from maestro_deploy.testing import render_program


@pytest.mark.parametrize("call", WIRING, ids=lambda c: c.setting)
def test_every_call_names_a_real_unit_setting_and_variable(call):
    assert call.unit in load_catalog()[call.callee].units
    where, name = call.lands_in.rsplit(" ", 1)
    if where == "env":
        assert name in PRODUCTS[call.caller].wired_env
    else:
        written = yaml.safe_load(quality_fabric.test_config("t", "https://api.example.com", "https://app.example.com", []))
        section, field = name.split(".")
        assert where == "test config" and field in written[section]
    # The setting is a key of the stack's own contract, where an endpoint is given.
    components = Components.model_validate({call.caller: _with(call.setting.split(".")[1:], "https://x.example.com")})
    assert override_of(components, call).url == "https://x.example.com"


def _with(path, url):
    return {path[0]: url} if len(path) == 1 else {path[0]: _with(path[1:], url)}


def _kubernetes(domain="apps.example.com", tls_secret="wildcard"):
    import pulumi_kubernetes as k8s

    from maestro_components.kubernetes.platform import KubernetesPlatform
    from maestro_components.kubernetes.service_unit import Exposure

    provider = k8s.Provider("cluster", namespace="apps")
    return KubernetesPlatform("t", "apps", provider, Exposure(domain=domain, tls_secret=tls_secret), create_namespace=False)


def test_the_helper_wires_the_frontend_to_the_engine_which_allows_its_origin():
    from maestro_components.products.deploy import deploy_products

    def program():
        found = deploy_products(_kubernetes(), {"engine": EngineOptions(), "frontend": FrontendOptions(), "hive": HiveOptions()})
        return {"hive_api": found["hive"].url}

    rendered = render_program(program)
    assert rendered.unit("frontend").env["VITE_MAESTRO_API_BASE"] == "https://api.apps.example.com/api"
    assert rendered.unit("engine").env["MAESTRO_CORS_ORIGINS"] == "https://app.apps.example.com"
    assert rendered.unit("hive").env["MAESTRO_API_BASE"] == "http://engine.apps.svc.cluster.local:8000/api"


def test_the_helper_takes_a_given_endpoint_instead_and_allows_no_origin():
    from maestro_components.products.deploy import deploy_products

    api = "https://api.partner.example.com/api"

    def program():
        deploy_products(
            _kubernetes(), {"engine": EngineOptions(), "frontend": FrontendOptions()}, endpoints={"frontend.backend": api}
        )

    rendered = render_program(program)
    assert rendered.unit("frontend").env["VITE_MAESTRO_API_BASE"] == api
    assert "MAESTRO_CORS_ORIGINS" not in rendered.unit("engine").env


def test_the_helper_refuses_a_caller_without_what_it_calls():
    from maestro_components.products.deploy import deploy_products

    with pytest.raises(ValueError, match=r"hive calls engine: deploy it, or give its URL as endpoints\['hive.engine'\]"):
        render_program(lambda: deploy_products(_kubernetes(), {"hive": HiveOptions()}))


def test_a_stack_serving_its_own_certificate_allows_its_frontends_https_origin():
    """The certificate becomes the stack's TLS Secret: the frontend is served over https, and
    the origin the engine allows says so (it said http before the table)."""
    config = {
        "maestro:kubernetes": {
            "namespace": "tls",
            "domain": "tls.example.com",
            "tls": {"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "key": "k"},
        },
        "maestro:components": {"engine": {}, "frontend": {}},
    }
    env = render_env(config, secret_keys=["maestro:kubernetes"])
    assert env.outputs["frontend_url"] == "https://app.tls.example.com"
    assert env.deployment("engine").env["MAESTRO_CORS_ORIGINS"] == "https://app.tls.example.com"
