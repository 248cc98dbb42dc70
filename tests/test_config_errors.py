"""Bad config: exit 2, one line per problem naming its key path, no traceback, nothing registered."""

import textwrap

import pytest

from maestro_deploy import cli

OK_K8S = {"namespace": "maestro-test", "domain": "test.example.com"}


def stack_file(tmp_path, text):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(textwrap.dedent(text))
    return path


CASES = [
    (
        "unknown key",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {replica: 2}
        """,
        ["maestro:components.engine.replica: unknown key; expected one of: version, image, digest, replicas"],
    ),
    (
        "unknown product",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            enigne: {}
        """,
        ["maestro:components.enigne: unknown key; expected one of: engine, frontend, hive, quality-fabric"],
    ),
    (
        "wrong type",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {replicas: "two"}
        """,
        ["maestro:components.engine.replicas: Input should be a valid integer"],
    ),
    (
        "bad URL",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            frontend: {backend: {url: "not a url"}}
        """,
        ["maestro:components.frontend.backend.url: expected an absolute http:// or https:// URL"],
    ),
    (
        "frontend with no backend",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            frontend: {}
        """,
        ["maestro:components.frontend.backend: required: this stack has no engine"],
    ),
    (
        "quality-fabric with no target",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            quality-fabric: {}
        """,
        [
            "maestro:components.quality-fabric.target.api_base: required: this stack has no engine",
            "maestro:components.quality-fabric.target.frontend_url: required by the e2e suite",
        ],
    ),
    (
        "hive with no engine",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            hive: {}
        """,
        ["maestro:components.hive.engine: required: this stack has no engine"],
    ),
    (
        "frontend on this stack's engine without a public domain",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {}
            frontend: {}
        """,
        ["maestro:kubernetes.domain: required: the frontend uses this stack's engine"],
    ),
    (
        "no namespace",
        """
        config:
          maestro:components:
            engine: {}
        """,
        ["maestro:kubernetes: required when maestro:platform is kubernetes"],
    ),
    (
        "the default namespace",
        """
        config:
          maestro:kubernetes: {namespace: default}
          maestro:components: {engine: {}}
        """,
        ["maestro:kubernetes.namespace: 'default' is reserved"],
    ),
    (
        "namespace Kubernetes rejects",
        """
        config:
          maestro:kubernetes: {namespace: Maestro_Staging}
          maestro:components: {engine: {}}
        """,
        ["maestro:kubernetes.namespace: expected a DNS label"],
    ),
    (
        "an env var the wiring sets",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test, domain: test.example.com}
          maestro:components:
            engine: {}
            frontend: {env: {VITE_MAESTRO_API_BASE: "http://x"}}
        """,
        ["maestro:components.frontend.env.VITE_MAESTRO_API_BASE: set by the wiring"],
    ),
    (
        "several replicas on one volume",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            registry: {replicas: 3}
        """,
        ["maestro:components.registry.replicas: must be 1"],
    ),
    (
        "a bare key",
        """
        config:
          components: {engine: {}}
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components: {engine: {}}
        """,
        ["components: config keys are namespaced; did you mean `maestro:components`?"],
    ),
    (
        "bad quantity",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {resources: {limits: {memory: "lots"}}}
        """,
        ["maestro:components.engine.resources.limits.memory: expected a Kubernetes quantity"],
    ),
    (
        "replicas beside autoscaling, and min above max",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {replicas: 2, autoscaling: {min_replicas: 5, max_replicas: 3}}
        """,
        [
            "maestro:components.engine.replicas: conflicts with autoscaling",
            "maestro:components.engine.autoscaling.min_replicas: must not exceed max_replicas",
        ],
    ),
    (
        "a malformed digest",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {image: "example.com/engine:1", digest: "sha256:abc"}
        """,
        ["maestro:components.engine.digest: expected sha256: followed by 64 lowercase hex digits"],
    ),
    (
        "TLS without a domain, naming both sources",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test, tls: {secret_name: a, cluster_issuer: b}}
          maestro:components: {engine: {}}
        """,
        [
            "maestro:kubernetes.tls: needs maestro:kubernetes.domain",
            "maestro:kubernetes.tls: give exactly one of secret_name, cluster_issuer, or certificate with key",
        ],
    ),
    (
        "an unknown stack size",
        """
        config:
          maestro:size: huge
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components: {engine: {}}
        """,
        ["maestro:size: Input should be 'small', 'medium' or 'large' (got 'huge')"],
    ),
    (
        "YAML that does not parse",
        """
        config:
          maestro:components: {engine: [
        """,
        ["Pulumi.bad.yaml:4: not valid YAML"],
    ),
    (
        "empty file",
        "",
        ["Pulumi.bad.yaml: the file is empty"],
    ),
    (
        "duplicate key",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {}
            engine: {version: "1.0.0"}
        """,
        ["duplicate key 'engine' (first on line 5)"],
    ),
]

DOCKER_CASES = [
    (
        "build on kubernetes",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {build: {context: ../maestro-engine}}
        """,
        ["maestro:components.engine.build: only on the docker platform"],
    ),
    (
        "replicas on docker",
        """
        config:
          maestro:platform: docker
          maestro:components:
            engine: {replicas: 2}
        """,
        ["maestro:components.engine.replicas: must be 1: the docker platform runs one container per unit"],
    ),
    (
        "kubernetes settings on a docker stack",
        """
        config:
          maestro:platform: docker
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {}
        """,
        ["maestro:kubernetes: only for maestro:platform kubernetes; this stack runs on docker"],
    ),
    (
        "docker settings on a kubernetes stack",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:docker: {publish: false}
          maestro:components:
            engine: {}
        """,
        ["maestro:docker: only for maestro:platform docker; this stack runs on kubernetes"],
    ),
    (
        "bad bind address",
        """
        config:
          maestro:platform: docker
          maestro:docker: {bind_address: 127.0.0.256}
          maestro:components:
            engine: {}
        """,
        ["maestro:docker.bind_address: expected an IPv4 address such as 127.0.0.1, without leading zeros (got '127.0.0.256')"],
    ),
    (
        "bad docker domain",
        """
        config:
          maestro:platform: docker
          maestro:docker: {domain: Local_Host}
          maestro:components:
            engine: {}
        """,
        ["maestro:docker.domain: expected a lowercase DNS name"],
    ),
    (
        "unknown platform",
        """
        config:
          maestro:platform: nomad
          maestro:components:
            engine: {}
        """,
        ["maestro:platform: Input should be 'kubernetes' or 'docker'"],
    ),
    (
        "build without a context",
        """
        config:
          maestro:platform: docker
          maestro:components:
            engine: {build: {dockerfile: Dockerfile}}
        """,
        ["maestro:components.engine.build.context: required"],
    ),
]
CASES += DOCKER_CASES


@pytest.mark.parametrize("command", ["check", "render"])
@pytest.mark.parametrize("label, text, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, nothing_registered, command, label, text, expected):
    path = stack_file(tmp_path, text)
    out = tmp_path / "out"
    argv = [command, str(path)] + (["--out", str(out)] if command == "render" else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("note: ")]
    assert "Traceback" not in err
    assert len(lines) == len(expected), err
    for line, want in zip(lines, expected):
        assert line.startswith("error: ") and want in line, err
    assert not out.exists()


def test_every_error_is_reported_at_once(tmp_path, capsys):
    path = stack_file(
        tmp_path,
        """
        config:
          maestro:kubernetes: {namespace: maestro-test, domainn: x}
          maestro:components:
            engine: {replicas: 0, version: "latest!"}
            frontend: {backend: {url: "ftp://x"}}
        """,
    )
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    for path in (
        "maestro:kubernetes.domainn",
        "maestro:components.engine.replicas",
        "maestro:components.engine.version",
        "maestro:components.frontend.backend.url",
    ):
        assert f"error: {path}: " in err


def test_a_missing_stack_is_named(capsys):
    assert cli.main(["check", "no-such-stack"]) == 2
    assert "Pulumi.no-such-stack.yaml: no such stack file" in capsys.readouterr().err


def test_the_pulumi_program_refuses_bad_config_without_registering(monkeypatch):
    """Under `pulumi up`, the same errors stop the program before any resource."""
    import pulumi

    from maestro_deploy.offline.render import run_stack

    with pytest.raises(pulumi.RunError, match=r"maestro:components.engine.replicas: "):
        run_stack("bad", {"maestro:kubernetes": {"namespace": "x"}, "maestro:components": {"engine": {"replicas": -1}}})


def test_an_error_is_one_line_whatever_it_quotes(tmp_path, capsys):
    """A --stack-outputs file's output names are listed in an error: one named with a newline
    must not start a line of its own, which could pass for another error."""
    import json

    from maestro_deploy import cli

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"acme/maestro/engine-prod": {"x\nerror: all good": 1}}))
    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text(
        "config:\n  maestro:kubernetes: {namespace: maestro-test}\n"
        "  maestro:components: {hive: {engine: {stack: acme/maestro/engine-prod, output: engine_url}}}\n"
    )
    assert cli.main(["check", str(stack), "--stack-outputs", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert "(it has: x\\nerror: all good)" in err
    assert not any(line.startswith("error: all good") for line in err.splitlines())


def test_a_stack_file_of_millions_of_values_is_refused_before_it_is_built(tmp_path, capsys, monkeypatch):
    """Under the 16 MiB read limit, `[1,1,1,...]` is millions of values: refused as the parser
    streams it, before any document is built (which took gigabytes and most of a minute)."""
    import yaml

    def never(*args, **kwargs):
        raise AssertionError("the document was built")

    path = tmp_path / "Pulumi.big.yaml"
    path.write_text("config: {maestro:ballast: [" + "1," * 100_000 + "1]}\n")
    monkeypatch.setattr(yaml, "load", never)
    assert cli.main(["check", str(path)]) == 2
    assert "too large: more than 80000 keys, values, maps and lists" in capsys.readouterr().err


def test_a_certificate_as_openssl_writes_it_with_its_bag_attributes_is_taken(tmp_path):
    """`openssl pkcs12 -nokeys` puts text around the block, which ingress-nginx's OpenSSL skips."""
    import json

    certificate = "Bag Attributes\n    localKeyID: 01\nsubject=/CN=x\n-----BEGIN CERTIFICATE-----\n" + "A" * 100 + "\n-----END CERTIFICATE-----\n"
    stack = tmp_path / "Pulumi.tls.yaml"
    kubernetes = {"namespace": "maestro-test", "domain": "t.example.com", "tls": {"certificate": certificate, "key": {"secure": "v1:AAAA"}}}
    stack.write_text(json.dumps({"config": {"maestro:kubernetes": kubernetes, "maestro:components": {"engine": {}}}}))
    assert cli.main(["check", str(stack)]) == 0
