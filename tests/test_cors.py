"""Allowed origins come from the wiring: the engine allows its stack's own frontend's origin,
then `cors_origins`, on both platforms; an origin is scheme, host and port only."""

import pytest
from conftest import STACKS
from harness import render_env, stack_env
from pulumi.runtime import rpc

from maestro_deploy import cli
from maestro_deploy.offline.stack import on_platform
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

PARTNER = "https://dashboard.partner.example.com"
CONTAINER = "docker:index/container:Container"

# Every stack in stacks/ that has an engine: MAESTRO_CORS_ORIGINS on its own platform and on the other.
EXPECTED = {
    "staging": {"kubernetes": "https://app.staging.example.com", "docker": "http://localhost:8080"},
    "engine-only": {"kubernetes": "https://app.dashboard.acme.example.com", "docker": "https://app.dashboard.acme.example.com"},
    "custom-frontend": {"kubernetes": PARTNER, "docker": PARTNER},
    "dev": {"docker": "http://localhost:8080"},
}


def stack_config(stack: str) -> dict:
    return read_stack_config(resolve_stack_path(stack)[1])


def engine_env(env, platform: str) -> dict:
    if platform == "kubernetes":
        return env.deployment("engine").env
    (engine,) = [r for r in env.run.registered if r.type == CONTAINER and r.name == "engine"]
    envs = rpc.unwrap_rpc_secret(engine.inputs["envs"]) if rpc.is_rpc_secret(engine.inputs["envs"]) else engine.inputs["envs"]
    return dict((rpc.unwrap_rpc_secret(e) if rpc.is_rpc_secret(e) else e).split("=", 1) for e in envs)


def on(stack: str, platform: str) -> dict:
    config = stack_config(stack)
    if platform == "docker":
        components = {k: {f: v for f, v in p.items() if f != "replicas"} for k, p in config["maestro:components"].items()}
        config = {**config, "maestro:components": components}
    return on_platform(config, platform)


def test_every_stack_with_an_engine_is_listed():
    assert {s for s in STACKS if "engine" in stack_config(s)["maestro:components"]} == set(EXPECTED)


@pytest.mark.parametrize("stack,platform", [(s, p) for s, by in EXPECTED.items() for p in by])
def test_the_engine_allows_exactly_the_derived_origins(stack, platform):
    env = render_env(on(stack, platform), stack)
    assert engine_env(env, platform)["MAESTRO_CORS_ORIGINS"] == EXPECTED[stack][platform]


def test_a_partners_origin_comes_after_the_stacks_own_frontend_and_never_replaces_it():
    config = stack_config("dev")
    config["maestro:components"]["engine"]["cors_origins"] = [PARTNER, "http://localhost:8080"]
    env = render_env(config, "dev")
    assert engine_env(env, "docker")["MAESTRO_CORS_ORIGINS"] == f"http://localhost:8080,{PARTNER}"


@pytest.mark.parametrize("platform", ["kubernetes", "docker"])
def test_adding_or_removing_the_frontend_adds_or_removes_its_origin(platform):
    with_frontend = on("staging", platform)
    # Quality-fabric's e2e suite needs a frontend: without one, it runs the others.
    kept = {k: v for k, v in with_frontend["maestro:components"].items() if k not in ("frontend", "quality-fabric")}
    without = {**with_frontend, "maestro:components": kept}
    assert "MAESTRO_CORS_ORIGINS" in engine_env(render_env(with_frontend, "staging"), platform)
    assert "MAESTRO_CORS_ORIGINS" not in engine_env(render_env(without, "staging"), platform)


def test_a_frontend_on_its_own_backend_adds_no_origin_to_this_stacks_engine():
    config = stack_config("dev")
    config["maestro:components"]["frontend"]["backend"] = "https://api.other-solution.example.com/api"
    assert "MAESTRO_CORS_ORIGINS" not in engine_env(render_env(config, "dev"), "docker")


def test_a_frontend_on_a_backend_outside_the_stack_is_told_which_origin_to_allow(capsys, stack_outputs_file):
    assert cli.main(["check", "frontend-custom-backend"]) == 0
    assert capsys.readouterr().err == (
        "warning: maestro:components.frontend.backend: browsers load this frontend from "
        "https://app.dashboard.other-solution.example.com and call https://api.other-solution.example.com/api "
        "from there: that backend is outside this stack and must allow the origin "
        "https://app.dashboard.other-solution.example.com (CORS), or every call is blocked\n"
    )
    assert cli.main(["check", "frontend-on-remote-engine", "--stack-outputs", stack_outputs_file]) == 0
    warning = capsys.readouterr().err
    assert "stack organization/maestro/engine-only's output engine_url" in warning
    assert "must allow the origin https://app.dashboard.acme.example.com (CORS)" in warning
    # ... which engine-only does allow: the two shipped stacks work together in a browser.
    assert stack_env("engine-only").deployment("engine").env["MAESTRO_CORS_ORIGINS"] == "https://app.dashboard.acme.example.com"
    assert cli.main(["check", "staging"]) == 0
    assert capsys.readouterr().err == ""
