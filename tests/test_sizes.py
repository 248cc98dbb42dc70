"""Size limits at `check` time: a value too large for where it lands is refused, naming its key and
the limit; and the largest values `check` accepts, all at once, render objects and environment
variables within what the API server and the kernel take."""

import json

import pytest
import yaml

from maestro_components import grammar
from maestro_components.options import MAX_CORS_ORIGINS
from maestro_deploy import cli
from maestro_deploy.offline.render import manifests
from maestro_deploy.offline.running import run_loaded
from maestro_deploy.offline.stack import load

TARGET = {"api_base": "https://api.example.com/api", "frontend_url": "https://app.example.com"}


def longest_url(prefix: str) -> str:
    return prefix + "a" * (grammar.MAX_URL - len(prefix))


def longest_origin(i: int) -> str:
    """A distinct origin of MAX_ORIGIN characters: https://, a 253-character host, :65535."""
    host = f"{i:05d}" + "a" * 58 + ("." + "a" * 63) * 2 + "." + "a" * 61
    return f"https://{host}:65535"


def full_env(prefix: str) -> dict[str, str]:
    """Eight variables of the kernel's limit each: the 1 MiB one product's env may hold."""
    return {f"{prefix}{i}": "x" * (grammar.MAX_ENV_VALUE - len(f"{prefix}{i}=")) for i in range(8)}


def pem_of(size: int) -> str:
    """A PEM certificate block of exactly `size` bytes: 64 base64 characters a line, as PEM writes."""
    head, tail = "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n"
    body = size - len(head) - len(tail)
    lines = ["A" * 64 + "\n"] * (body // 65)
    return head + "".join(lines) + ("A" * (body % 65 - 1) + "\n" if body % 65 > 1 else "") + tail + "\n" * (body % 65 == 1)


def write(tmp_path, config: dict) -> str:
    path = tmp_path / "Pulumi.sizes.yaml"
    # JSON is YAML, and writing megabytes of it is far quicker than PyYAML's emitter.
    path.write_text(json.dumps({"config": config}))
    return str(path)


def kubernetes(components: dict, **kubernetes_settings) -> dict:
    return {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com", **kubernetes_settings}, "maestro:components": components}


@pytest.mark.parametrize(
    "config,key,limit",
    [
        (kubernetes({"quality-fabric": {"name": "n" * (grammar.MAX_TEXT + 1), "target": TARGET}}), "maestro:components.quality-fabric.name", f"at most {grammar.MAX_TEXT}"),
        (kubernetes({"quality-fabric": {"target": {**TARGET, "api_base": longest_url("https://api.example.com/") + "a"}}}), "maestro:components.quality-fabric.target.api_base", f"at most {grammar.MAX_URL}"),
        (kubernetes({"engine": {"templates_path": longest_url("https://git.example.com/") + "a"}}), "maestro:components.engine.templates_path", f"at most {grammar.MAX_URL}"),
        (kubernetes({"engine": {"templates_path": "/" + "t" * grammar.MAX_PATH}}), "maestro:components.engine.templates_path", f"at most {grammar.MAX_PATH}"),
        (kubernetes({"engine": {"cors_origins": [longest_origin(i) for i in range(MAX_CORS_ORIGINS + 1)]}}), "maestro:components.engine.cors_origins", f"at most {MAX_CORS_ORIGINS} (they join into one environment variable"),
        (kubernetes({"engine": {"env": {"BLOB": "x" * grammar.MAX_ENV_VALUE}}}), "maestro:components.engine.env.BLOB", f"at most {grammar.MAX_ENV_VALUE}"),
        (kubernetes({"hive": {"api_token": "t" * (grammar.MAX_ENV_VALUE + 1), "engine": "https://api.example.com/api"}}), "maestro:components.hive.api_token", f"at most {grammar.MAX_ENV_VALUE}"),
        ({"maestro:platform": "docker", "maestro:components": {"registry": {"env": {"BLOB": "\u00e9" * (grammar.MAX_ENV_VALUE // 2)}}}}, "maestro:components.registry.env.BLOB", f"at most {grammar.MAX_ENV_VALUE}"),
        ({"maestro:platform": "docker", "maestro:components": {"engine": {"build": {"context": "reference", "args": {"A": "x" * grammar.MAX_ENV_VALUE}}}}}, "maestro:components.engine.build.args.A", f"at most {grammar.MAX_ENV_VALUE}"),
        (kubernetes({"engine": {}}, tls={"certificate": pem_of(grammar.MAX_CONFIG_DATA // 2 + 1), "key": {"secure": "v1:AAAA"}}), "maestro:kubernetes.tls.certificate", f"at most {grammar.MAX_CONFIG_DATA // 2}"),
        (kubernetes({"engine": {}}, admit_namespaces=[f"n{i}" for i in range(1001)]), "maestro:kubernetes.admit_namespaces", "1001 namespaces; at most 1000"),
        ({"maestro:platform": "docker", "maestro:components": {"engine": {"build": {"context": "c" * 300}}}}, "maestro:components.engine.build.context", "no Dockerfile in"),
    ],
    ids=["test-config-name", "target-url", "templates-url", "templates-path", "cors-origins", "env-value", "secret", "docker-env-bytes", "build-arg", "tls-certificate", "admitted-namespaces", "build-context-name"],
)
def test_a_value_too_large_for_where_it_lands_is_refused_at_check(tmp_path, capsys, nothing_registered, config, key, limit):
    assert cli.main(["check", write(tmp_path, config)]) == 2
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith(f"error: {key}: "))
    assert limit in line and "Traceback" not in err
    assert "x" * 100 not in err and "t" * 100 not in err  # the value is never quoted


def test_a_deployment_over_its_size_is_refused_at_check(tmp_path, capsys):
    env = {f"V{i}": "x" * 100_000 for i in range(12)}  # each under 128 KiB, 1.2 MB in all
    assert cli.main(["check", write(tmp_path, kubernetes({"ml-platform": {"env": env}}))]) == 2
    assert "error: maestro:components.ml-platform.env: 1200038 bytes in all; at most 1 MiB" in capsys.readouterr().err


def test_an_env_a_client_side_apply_could_not_keep_is_a_warning(tmp_path, capsys):
    """Valid, but `kubectl apply` without --server-side copies the Deployment into an annotation,
    and an object's annotations hold 256 KiB: `check` says to apply it server-side."""
    env = {f"V{i}": "x" * 100_000 for i in range(2)}
    assert cli.main(["check", write(tmp_path, kubernetes({"ml-platform": {"env": env}}))]) == 0
    assert "warning: maestro:components.ml-platform.env: 200006 bytes in all: apply the render server-side" in capsys.readouterr().err
    assert cli.main(["check", write(tmp_path, kubernetes({"ml-platform": {"env": {"V": "x" * 100_000}}}))]) == 0
    assert "server-side" not in capsys.readouterr().err


def stored_size(obj: dict) -> int:
    return len(json.dumps(obj, ensure_ascii=False).encode())


def test_the_largest_values_check_accepts_render_within_the_platforms_limits(tmp_path, capsys):
    """Every bounded field at its limit, at once: `check` passes and every object fits. The
    engine's Deployment carries the most (a full env, the origins, a URL each wiring sets):
    the other products' env is left out, as it would only make the render slower."""
    components = {
        "engine": {
            "env": full_env("E"),
            "cors_origins": [longest_origin(i) for i in range(MAX_CORS_ORIGINS)],
            "templates_path": longest_url("https://git.example.com/"),
        },
        "frontend": {},
        "hive": {"templates_path": longest_url("https://git.example.com/")},
        "quality-fabric": {
            "name": "n" * grammar.MAX_TEXT,
            "target": {"api_base": longest_url("https://api.example.com/"), "frontend_url": longest_url("https://app.example.com/")},
        },
        "registry": {},
    }
    config = kubernetes(
        components,
        admit_namespaces=[f"{i:04d}" + "a" * 59 for i in range(1000)],
        tls={"certificate": pem_of(grammar.MAX_CONFIG_DATA // 2), "key": {"secure": "v1:AAAA"}},
    )
    config["maestro:observability"] = {"otlp_endpoint": longest_url("http://otel.example.com/")}
    path = write(tmp_path, config)
    assert cli.main(["check", path]) == 0, capsys.readouterr().err
    # What `render` writes, without the seconds PyYAML's emitter would spend on megabytes. (A
    # Secret's values are masked there: the TLS Secret's certificate and key are bounded to fit.)
    sizes = {}
    for obj in manifests(run_loaded(load(path, None)[0])):
        name = f"{obj['kind']} {obj['metadata']['name']}"
        sizes[name] = stored_size(obj)
        assert grammar.object_size_problem(obj["kind"], sizes[name]) is None, name
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for env in container.get("env", []):
                assert grammar.size(f"{env['name']}={env.get('value', '')}") <= grammar.MAX_ENV_VALUE, (name, env["name"])
    # The limits were approached, not avoided.
    assert sizes["Deployment engine"] > 2**20
    assert sizes["ConfigMap quality-fabric-api-files"] > grammar.MAX_TEXT
