"""The library as a program reads it: every public name from the top of `maestro_components`,
a frontend's backend checked against what the platform runs, and a program's exports in
`rendered.outputs`."""

import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s
import pytest

import maestro_components
from maestro_components import Engine, EngineArgs, Exposure, Frontend, FrontendArgs, KubernetesPlatform
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
