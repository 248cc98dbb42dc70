"""What each product takes: the typed options of the product components.

A customer's program builds them directly (`EngineOptions(version="1.2.3")`); the tool's
stack settings (maestro_deploy.config.settings) are composed of them, so a stack file and a
program are checked alike. Every model forbids unknown keys, so a typo is an error that
names its key path instead of a setting silently ignored.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, Callable, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WrapValidator

from maestro_components import grammar

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# A Kubernetes quantity: 250m, 1, 0.5, 512Mi, 1Gi, 2G ...
QUANTITY = r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# No `+build` metadata: a version is an image tag and a label value, and neither takes a `+`.
VERSION = r"^v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?$"
DIGEST = r"^sha256:[a-f0-9]{64}$"
STACK_NAME = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$"
OUTPUT_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# At least one whole certificate block; text around the blocks (openssl's "Bag Attributes") and
# base64 lines of any length are what ingress-nginx's OpenSSL reads too.
PEM_CERTIFICATES = r"^[\s\S]*-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----[\s\S]*$"
# What each pattern means, for error messages a person can act on.
PATTERN_MEANING = {
    DNS_LABEL: "expected a DNS label: lowercase letters, digits and '-', at most 63, starting and ending alphanumeric",
    QUANTITY: "expected a Kubernetes quantity such as 250m, 0.5, 512Mi or 2Gi",
    ENV_NAME: "expected an environment variable name: letters, digits and '_', not starting with a digit",
    VERSION: "expected a version such as 1.2.3, v2.3.2 or 1.3.0-rc.1, at most 63 characters and no +build metadata",
    DIGEST: "expected sha256: followed by 64 lowercase hex digits",
    STACK_NAME: "expected a stack name: org/project/stack, project/stack or stack",
    OUTPUT_NAME: "expected a stack output name such as engine_url",
    PEM_CERTIFICATES: "expected PEM certificates: a BEGIN CERTIFICATE line, lines of base64, an END CERTIFICATE line",
}
def matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a whole value matches (`$` alone would let a trailing newline through)."""
    compiled = re.compile(pattern)
    return lambda value: isinstance(value, str) and compiled.fullmatch(value) is not None


def checked(is_valid: Callable[[str], bool], expected: str) -> AfterValidator:
    """A string check by one of the platforms' grammars, with a message a person can act on."""

    def check(value: str) -> str:
        if not is_valid(value):
            raise ValueError(expected)
        return value

    return AfterValidator(check)


def matching(pattern: str, expected: str) -> AfterValidator:
    """A string check by a pattern. (A `Field(pattern=...)` would do, but Python's `re` is
    needed for lookaheads, and the message says what is expected.)"""
    return checked(matcher(pattern), expected)


def at_most(limit: int, why: str) -> AfterValidator:
    """A text of at most `limit` bytes: what the place it lands takes (grammar's sizes)."""

    def check(value: str) -> str:
        if problem := grammar.size_problem(value, limit, why):
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def few(limit: int, what: str, why: str) -> AfterValidator:
    """A list of at most `limit` items, each landing in one object or variable whose size is bounded."""

    def check(values: list) -> list:
        if len(values) > limit:
            raise ValueError(f"{len(values)} {what}; at most {limit} ({why})")
        return values

    return AfterValidator(check)


def explained(problem_of: Callable[[str], Optional[str]], expected: str) -> AfterValidator:
    """A string check by one of the platforms' grammars that says what is wrong: `expected: why not`."""

    def check(value: str) -> str:
        if problem := problem_of(value):
            raise ValueError(f"{expected}: {problem}")
        return value

    return AfterValidator(check)


def url_checked(expected: str, schemes: tuple[str, ...] = ("http", "https"), credentials: bool = False) -> AfterValidator:
    """A URL by the one strict parser (grammar.parse_url): the message says what is expected and why not."""
    return explained(lambda value: grammar.url_problem(value, schemes, credentials), expected)


_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
# pydantic's HttpUrl normalises (adds a trailing slash); a URL handed to a browser or a
# test runner must reach it exactly as written.
HttpUrlStr = Annotated[str, url_checked("expected an absolute http:// or https:// URL without spaces or credentials")]
# What a browser sends as Origin: scheme, host and port, nothing more. A path, a trailing slash
# or a wildcard never equals one, so an allowed origin written so would silently allow nobody.
WebOrigin = Annotated[
    str,
    matching(
        r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?\Z",
        "expected an origin: http(s)://host[:port] in lowercase, with no path, trailing slash or wildcard",
    ),
    url_checked("expected an origin"),
]
Hostname = Annotated[
    str,
    matching(
        # The last label has a letter: an IP address is not a domain that hosts can sit under.
        rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.(?=[a-z0-9-]*[a-z]){_LABEL}$",
        "expected a lowercase DNS name with at least two labels, like staging.example.com (not an IP address)",
    ),
]
# A Kubernetes object name (IngressClass, StorageClass): a DNS subdomain.
ObjectName = Annotated[
    str,
    matching(
        rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$",
        "expected a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253",
    ),
]
DnsName = Annotated[
    str,
    matching(
        # The last label has a letter: a browser reads a name ending in a number as an IPv4 address.
        rf"^(?=.{{1,253}}$)({_LABEL}\.)*(?=[a-z0-9-]*[a-z]){_LABEL}$",
        "expected a lowercase DNS name such as localhost or vm.example.com, its last label not a number",
    ),
]
IPv4 = Annotated[str, checked(grammar.is_ipv4, "expected an IPv4 address such as 127.0.0.1, without leading zeros")]
DockerHost = Annotated[
    str, explained(grammar.docker_host_problem, "expected a Docker daemon: unix:///path/to.sock, tcp://host:port or ssh://host (a user name, if any, before an @)")
]
DatabaseUrl = Annotated[
    str,
    matching(
        # Reserved characters in the user or password are percent-encoded: unescaped, `#`, `?`,
        # `/` or `@` would move where the host starts, and every parser would read another URL.
        r"^postgres(ql)?://([^@/?#\s:]+(:[^@/?#\s]*)?@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?(\?[^\s#]*)?$",
        "expected a PostgreSQL URL (postgresql:// then user:password@host:5432/database), with any of "
        "# ? / @ : in the user or password percent-encoded (%23 %3F %2F %40 %3A)",
    ),
    url_checked("expected a PostgreSQL URL", ("postgres", "postgresql"), credentials=True),
]
Quantity = Annotated[str, Field(pattern=QUANTITY)]


def _number_as_quantity(value):
    # `cpu: 0.5` as YAML writes it, which Kubernetes takes: the quantity "0.5".
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else value


CpuQuantity = Annotated[Quantity, BeforeValidator(_number_as_quantity, json_schema_input_type=Union[str, float])]
Version = Annotated[
    str,
    Field(pattern=VERSION, max_length=63),
    checked(grammar.is_label_value, "expected a version that ends in a letter or digit: it becomes an image tag and a label value"),
]
ImageReference = Annotated[
    str,
    checked(
        grammar.is_image_reference,
        "expected an image reference such as registry.example.com/team/app:1.2.3: lowercase path, one ASCII tag "
        "at most, a registry port from 1 to 65535 (the distribution grammar)",
    ),
]


def _templates_path(value: str) -> str:
    """A path in the image, a git URL, or scp-like user@host:path; never a credential."""
    if value.startswith("/") and not value.startswith("//"):
        if problem := grammar.size_problem(value, grammar.MAX_PATH, "the longest path the kernel resolves"):
            raise ValueError(problem)
        if re.search(r"[\x00-\x1f\x7f]", value):
            raise ValueError("expected a path in the image without control characters")
        return value
    scp = re.fullmatch(r"(?:([A-Za-z0-9._-]+)@)?([^:/@\s]+):([^\s]*)", value)
    if scp and "://" not in value:
        if problem := grammar.size_problem(value, grammar.MAX_URL, "the longest URL git must take"):
            raise ValueError(problem)
        if grammar.host_problem(scp.group(2)):
            raise ValueError("expected user@host:path with a valid host name")
        return value
    problem = grammar.url_problem(value, ("https", "http", "ssh", "git", "git+ssh"), credentials=True)
    if problem is None:
        url = grammar.parse_url(value, ("https", "http", "ssh", "git", "git+ssh"))
        if url.userinfo is not None and (":" in url.userinfo or url.scheme not in ("ssh", "git+ssh")):
            problem = "holds credentials, which would be deployed and shown in plain text (env, outputs, graph); keep them in the image's git configuration"
        elif url.query is not None or url.fragment is not None:
            problem = "holds a query or fragment: a git URL takes none, and a token there would be deployed in plain text"
    if problem:
        raise ValueError(f"expected a path in the image (/opt/templates) or a git URL (https://host/repo.git): {problem}")
    return value


TemplatesPath = Annotated[str, AfterValidator(_templates_path)]
# A path on this machine: a longer one the kernel refuses to resolve.
LocalPath = Annotated[str, at_most(grammar.MAX_PATH, "the longest path the kernel resolves")]
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]


class Strict(BaseModel):
    # Validators are built on first use: only StackSettings ever validates, so the
    # nested models never build one of their own (a fifth of a render's own time).
    model_config = ConfigDict(extra="forbid", populate_by_name=False, defer_build=True, regex_engine="python-re")


class Amounts(Strict):
    cpu: Optional[CpuQuantity] = None
    memory: Optional[Quantity] = None


class Resources(Strict):
    requests: Optional[Amounts] = None
    limits: Optional[Amounts] = None


def merge_resources(defaults: dict[str, dict[str, str]], override: Optional[Resources]) -> dict[str, dict[str, str]]:
    """A unit's amounts as deployed: the catalog's `defaults` with the stack's `override` over them."""
    merged = {kind: dict(amounts) for kind, amounts in defaults.items()}
    if override is not None:
        for kind in ("requests", "limits"):
            amounts = getattr(override, kind)
            if amounts is not None:
                merged.setdefault(kind, {}).update(amounts.model_dump(exclude_none=True))
    return merged


class Autoscaling(Strict):
    min_replicas: Annotated[int, Field(ge=1, le=100, strict=True)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=100, strict=True)]
    cpu_utilization: Annotated[int, Field(ge=10, le=100, strict=True)] = 75


class Build(Strict):
    """A local source directory to build the image from (the products live in sibling repos)."""

    context: LocalPath = Field(description="The build context, relative to the project directory: ../maestro-engine")
    dockerfile: Optional[LocalPath] = Field(None, description="Relative to the context; omitted: its Dockerfile.")
    args: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(default_factory=dict)


class ProductOptions(Strict):
    """What every product takes."""

    version: Optional[Version] = None
    image: Optional[ImageReference] = Field(
        None, description="A full image reference; replaces the catalog's repository and the version's tag."
    )
    digest: Optional[Annotated[str, Field(pattern=DIGEST)]] = Field(
        None, description="sha256 digest of the version's image: the tag then cannot move under you."
    )
    replicas: Optional[Annotated[int, Field(ge=1, le=100, strict=True)]] = None
    resources: Optional[Resources] = None
    autoscaling: Optional[Autoscaling] = Field(None, description="A HorizontalPodAutoscaler on CPU; replaces `replicas`.")
    env: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(
        default_factory=dict, description="Extra plain environment variables; never secrets."
    )
    build: Optional[Build] = Field(
        None, description="Docker platform only: build the image from local source; `image` then names the result."
    )
    allow_incompatible: bool = Field(
        False, description="Deploy despite config/compatibility-matrix.yaml, with a warning."
    )


def _is_pulumi_output(value: Any) -> bool:
    # Without pulumi imported, nothing is one: the tool's `check` never imports it.
    pulumi = sys.modules.get("pulumi")
    return pulumi is not None and isinstance(value, pulumi.Output)


# A program may give a secret as it reads it, `pulumi.Config().require_secret(...)`: an Output,
# whose value is known only at deployment, so it is taken as it is; a string is checked.
OR_AN_OUTPUT = WrapValidator(lambda value, check: value if _is_pulumi_output(value) else check(value))
SecretValue = Annotated[
    str,
    Field(min_length=1, description="A Pulumi secret only: pulumi config set --secret --path ..."),
    # A token or password reaches its container as an environment variable.
    at_most(grammar.MAX_ENV_VALUE, "the kernel's limit for one environment variable"),
    OR_AN_OUTPUT,
]


class DatabaseOptions(Strict):
    """Exactly one of: a bundled PostgreSQL, or an external one by URL."""

    bundled: Optional[bool] = Field(None, description="true: a PostgreSQL in the stack, on protected storage.")
    image: Optional[ImageReference] = Field(
        None, description="With bundled: replaces the catalog's PostgreSQL image (one built locally, on Docker)."
    )
    build: Optional[Build] = Field(
        None, description="With bundled, Docker platform only: build the PostgreSQL image from local source; `image` names it."
    )
    url: Optional[DatabaseUrl] = Field(
        None,
        description="An external PostgreSQL's URL: a Pulumi secret only (pulumi config set --secret --path ...).",
    )


# The origins, with the stack's own frontends', join into one variable, MAESTRO_CORS_ORIGINS:
# so many of the longest ones fit in one environment variable, with room for a dozen of its own.
MAX_CORS_ORIGINS = grammar.MAX_ENV_VALUE // (grammar.MAX_ORIGIN + 1) - 12


class EngineOptions(ProductOptions):
    database: Optional[DatabaseOptions] = Field(None, description="Omitted: {bundled: true}.")
    cors_origins: Annotated[
        list[WebOrigin], few(MAX_CORS_ORIGINS, "origins", "they join into one environment variable, MAESTRO_CORS_ORIGINS, of at most 128 KiB")
    ] = Field(
        default_factory=list,
        description="Origins of other frontends whose browsers may call the API; this stack's own frontend is allowed already.",
    )
    templates_path: Optional[TemplatesPath] = Field(None, description="MAESTRO_TEMPLATES_PATH: a git URL or a path in the image.")


class FrontendOptions(ProductOptions):
    """The frontend takes what every product does; where its API is, is wiring."""


class HiveOptions(ProductOptions):
    templates_path: Optional[TemplatesPath] = None
    api_token: Optional[SecretValue] = Field(None, description="A token for the engine's API (MAESTRO_API_TOKEN); a Pulumi secret.")


TestSuite = Literal["unit", "integration", "e2e"]


class QualityFabricOptions(ProductOptions):
    name: Optional[Annotated[str, at_most(grammar.MAX_TEXT, "a name, in the test config file of a ConfigMap")]] = Field(
        None, description="The test config's name; default: '<stack> tests'."
    )
    test_suites: Optional[list[TestSuite]] = Field(None, min_length=1)


class Storage(Strict):
    """Exactly one of: storage the stack creates (bundled), or an existing volume it only mounts."""

    bundled: Optional[bool] = Field(None, description="true (the default): a volume of the stack's own, protected.")
    size: Optional[Quantity] = None
    storage_class: Optional[ObjectName] = None
    existing: Optional[DnsLabel] = Field(
        None, description="An existing PersistentVolumeClaim (Kubernetes) or named volume (Docker): never created or deleted."
    )


class MlPlatformOptions(ProductOptions):
    storage: Optional[Storage] = None


class RegistryOptions(ProductOptions):
    storage: Optional[Storage] = None
    max_upload_size: Annotated[Quantity, explained(grammar.upload_size_problem, "expected the largest upload, such as 100Mi")] = Field(
        "100Mi", description="The largest package its public host accepts (ingress-nginx's default is 1 MiB)."
    )
    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = Field(
        "maestro", description="Who may upload packages."
    )
    password: Optional[SecretValue] = Field(None, description="Its password, a Pulumi secret; omitted: generated and kept in the stack's state.")


class BundledMetrics(Strict):
    bundled: bool = Field(
        False, description="Docker: true runs a Prometheus in the stack that scrapes every unit; its UI is the prometheus_url output."
    )
    image: Optional[ImageReference] = Field(
        None, description="With bundled: the Prometheus 2.x image; omitted: maestro-prometheus:2.42.0 (images/prometheus builds it)."
    )
    build: Optional[Build] = Field(None, description="With bundled: build the Prometheus image from local source; `image` names it.")


class Observability(Strict):
    """Metrics and traces, wired like any other dependency. Every key optional."""

    metrics: Optional[BundledMetrics] = Field(None, description="Docker only: {bundled: true}, a Prometheus of the stack's own.")
    service_monitors: Optional[bool] = Field(
        None,
        description="Kubernetes only: true, a ServiceMonitor per unit (needs the Prometheus Operator's CRDs); "
        "false, prometheus.io/scrape|port|path pod annotations. Omitted (and no prometheus_namespace): metrics are not wired.",
    )
    prometheus_namespace: Optional[DnsLabel] = Field(
        None,
        description="Kubernetes only: where the cluster's Prometheus runs, the one namespace that may reach the metrics ports; "
        "omitted: monitoring.",
    )
    otlp_endpoint: Optional[HttpUrlStr] = Field(
        None,
        description="An OpenTelemetry collector's OTLP endpoint, such as http://otel-collector.monitoring:4317: "
        "OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES on every product.",
    )

    @property
    def scrape(self) -> Optional[Literal["service-monitor", "annotations"]]:
        """On Kubernetes, how the cluster's Prometheus finds the units, if it is told at all."""
        if self.service_monitors:
            return "service-monitor"
        if self.service_monitors is False or self.prometheus_namespace is not None:
            return "annotations"
        return None


def _schedule(value: str) -> str:
    if problem := grammar.cron_problem(value):
        raise ValueError(problem)
    return value


def _at_least_one(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1: keep 0 would delete every backup as soon as it is taken")
    return value


CronSchedule = Annotated[str, Field(max_length=200), AfterValidator(_schedule)]


class BackupOptions(Strict):
    """Scheduled backups of every stateful part (Kubernetes: one CronJob each)."""

    schedule: CronSchedule = Field(
        description="When, in UTC: a 5-field cron expression (minute hour day-of-month month day-of-week) or @daily, @hourly, ..."
    )
    keep: Annotated[int, Field(le=1000, strict=True), AfterValidator(_at_least_one)] = Field(
        description="How many backups of each part to keep; older ones are deleted after each new one."
    )
    storage: Optional[Storage] = Field(
        None,
        description="Where backups go: {size, storage_class}, a claim per part that the stack creates (protected, retained; "
        "omitted: as large as the part's data), or {existing: <claim>}, one claim shared by every part (ReadWriteMany).",
    )
