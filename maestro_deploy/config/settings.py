"""The stack config contract: what a user writes under `config:` in a stack file.

The products' own options are the components' (maestro_components.options); this adds what
only a stack has: wiring by URL or stack reference, the platform and its settings. Every model
forbids unknown keys, so a typo is an error that names its key path instead of a setting
silently ignored. `maestro-deploy schema` publishes the JSON Schema of `StackSettings`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BeforeValidator, Field

from maestro_components import grammar
from maestro_components.wiring import STACK_ENDPOINTS
from maestro_components.options import (
    OUTPUT_NAME,
    PEM_CERTIFICATES,
    BackupOptions,
    STACK_NAME,
    DnsLabel,
    DnsName,
    DockerHost,
    EngineOptions,
    FrontendOptions,
    HiveOptions,
    Hostname,
    HttpUrlStr,
    IPv4,
    MlPlatformOptions,
    ObjectName,
    Observability,
    QualityFabricOptions,
    RegistryOptions,
    SecretValue,
    Strict,
    at_most,
    few,
)


def _endpoint_from_string(value):
    # Wherever a URL goes, a plain string is the URL itself.
    return {"url": value} if isinstance(value, str) else value


class Endpoint(Strict):
    """A URL, given as such or read from another stack's output (a `pulumi.StackReference`)."""

    url: Optional[HttpUrlStr] = None
    stack: Optional[Annotated[str, Field(pattern=STACK_NAME)]] = Field(
        None, description="Another stack, as org/project/stack (or project/stack, stack)."
    )
    output: Optional[Annotated[str, Field(pattern=OUTPUT_NAME)]] = Field(
        None, description="The stack output that holds the URL, such as engine_url."
    )


EndpointInput = Annotated[
    Endpoint, BeforeValidator(_endpoint_from_string, json_schema_input_type=Union[HttpUrlStr, Endpoint])
]


class FrontendSettings(FrontendOptions):
    backend: Optional[EndpointInput] = Field(
        None, description="The API base a browser calls, a URL or {stack, output}; omitted: this stack's engine."
    )


class HiveSettings(HiveOptions):
    engine: Optional[EndpointInput] = Field(
        None, description="The engine API base, a URL or {stack, output}; omitted: this stack's engine."
    )


class Target(Strict):
    api_base: Optional[EndpointInput] = Field(None, description="A URL or {stack, output}.")
    frontend_url: Optional[EndpointInput] = Field(None, description="A URL or {stack, output}.")
    api_token: Optional[SecretValue] = Field(
        None, description="A token the runner sends to the target's API (QF_TARGET_API_TOKEN); a Pulumi secret."
    )


class QualityFabricSettings(QualityFabricOptions):
    target: Optional[Target] = Field(None, description="What to test; each URL omitted: this stack's engine / frontend.")


class Components(Strict):
    """A product is deployed if and only if its key is here."""

    engine: Optional[EngineOptions] = None
    frontend: Optional[FrontendSettings] = None
    hive: Optional[HiveSettings] = None
    quality_fabric: Optional[QualityFabricSettings] = Field(None, alias="quality-fabric")
    ml_platform: Optional[MlPlatformOptions] = Field(None, alias="ml-platform")
    registry: Optional[RegistryOptions] = None


class Tls(Strict):
    secret_name: Optional[DnsLabel] = Field(None, description="An existing TLS Secret for the public hosts.")
    cluster_issuer: Optional[DnsLabel] = Field(None, description="A cert-manager ClusterIssuer that issues one.")
    certificate: Optional[
        Annotated[
            str,
            # Whole PEM blocks, as an ingress controller loads them: a header alone, or a block
            # cut short, would be deployed and then refused, and the hosts served with a default.
            Field(pattern=PEM_CERTIFICATES),
            # A chain is a few KiB; its TLS Secret holds it and the key within 1 MiB.
            at_most(grammar.MAX_CONFIG_DATA // 2, "half of what one Secret holds, the other half for its key"),
        ]
    ] = Field(
        None, description="A PEM certificate (chain) for the public hosts; with key."
    )
    key: Optional[SecretValue] = Field(None, description="Its PEM private key: a Pulumi secret only.")


class Kubernetes(Strict):
    namespace: DnsLabel
    admit_namespaces: Annotated[
        # Each is a rule of the engine's NetworkPolicy, some 150 bytes: far within one object's 1.5 MiB.
        list[DnsLabel], few(1000, "namespaces", "each is a rule of the engine's NetworkPolicy, one object of at most 1.5 MiB")
    ] = Field(
        default_factory=list,
        description="Namespaces whose pods may call the engine's in-cluster API (another stack's hive or quality-fabric); "
        "named, engine_internal_url is offered to other stacks.",
    )
    create_namespace: bool = Field(
        True,
        description="false: deploy into an existing namespace, shared with other workloads, which the stack neither creates nor restricts.",
    )
    domain: Optional[Hostname] = Field(None, description="Public hosts are <host>.<domain>; omitted: no Ingress.")
    context: Optional[str] = Field(None, description="kubeconfig context of the target cluster; omitted: the current one.")
    ingress_class: Optional[ObjectName] = None
    ingress_namespace: DnsLabel = Field(
        "ingress-nginx", description="Namespace of the ingress controller: the only one that may reach public units."
    )
    tls: Optional[Tls] = None


class Docker(Strict):
    host: Optional[DockerHost] = Field(
        None, description="The Docker daemon: unix:///var/run/docker.sock, tcp://vm:2376, ssh://user@vm; omitted: DOCKER_HOST or the local one."
    )
    domain: DnsName = Field(
        "localhost",
        description="localhost: public URLs are http://localhost:<port>, which every client resolves; another domain: http://<host>.<domain>:<port>.",
    )
    bind_address: IPv4 = Field(
        "127.0.0.1", description="Where published ports listen. Anything but loopback exposes the stack: a warning."
    )
    publish: bool = Field(
        True, description="Publish the public units' ports on the host; false: their URLs answer on the stack's network only."
    )


# The observability keys that configure one platform only (otlp_endpoint serves every platform).
OBSERVABILITY_PLATFORM = {
    "metrics": "docker",
    "service_monitors": "kubernetes",
    **{e.setting.split(".", 1)[1]: e.platform for e in STACK_ENDPOINTS if e.platform},
}


class Ephemeral(Strict):
    """Written by `maestro-deploy ephemeral run`: a throwaway stack that is torn down after
    its tests and that nothing protects, so that teardown is complete."""

    owner: Annotated[str, Field(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    created: Annotated[int, Field(ge=0, strict=True)] = Field(description="Unix time it was created.")
    expires: Annotated[int, Field(ge=0, strict=True)] = Field(description="Unix time after which a reaper removes it.")


class StackSettings(Strict):
    """The `maestro:` namespace of a stack file, without its prefix."""

    platform: Literal["kubernetes", "docker"] = "kubernetes"
    size: Literal["small", "medium", "large"] = Field(
        "small", description="Default replicas of stateless services: small 1, medium 2, large 3."
    )
    kubernetes: Optional[Kubernetes] = None
    docker: Optional[Docker] = Field(None, description="The docker platform's settings; omitted: the defaults.")
    ephemeral: Optional[Ephemeral] = Field(None, description="Set by `maestro-deploy ephemeral run` only.")
    observability: Optional[Observability] = Field(
        None, description="Metrics and traces: a bundled Prometheus (Docker), ServiceMonitors (Kubernetes), an OTLP collector."
    )
    components: Components
    # Last: the keys an unknown key's error suggests keep the order they had before it.
    backup: Optional[BackupOptions] = Field(
        None,
        description="Scheduled backups of the database, the registry's packages and ml-platform's artifacts: Kubernetes "
        "only (CronJobs); on Docker, `maestro-deploy backup` takes them.",
    )
