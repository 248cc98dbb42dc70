"""Each product's facts, said once: the components check themselves against them, and the tool
(validation, the compatibility matrix, the program) reads them from here.

Kept free of Pulumi imports, so that checking a stack file stays quick."""

from __future__ import annotations

from dataclasses import dataclass

from maestro_components.wiring import OTLP_COLLECTOR, env_of, wired_env_of

# What the stack's OTLP collector, an endpoint of the wiring, sets on every product.
OTEL_ENV = env_of(OTLP_COLLECTOR)


@dataclass(frozen=True)
class ProductFacts:
    key: str  # the product's key in a stack's components and in the catalog
    matrix_name: str  # its name in the compatibility matrix
    # Environment variables its component sets from the wiring: an `env` entry may not shadow one.
    # Given here: its own; added: those the wiring table's calls land in, and the OTLP collector's.
    wired_env: frozenset[str]
    # Its data sits on one ReadWriteOnce volume: one replica, no autoscaling.
    single_replica: bool = False

    def __post_init__(self):
        # Every product is wired to the stack's OTLP collector alike.
        object.__setattr__(self, "wired_env", self.wired_env | wired_env_of(self.key) | OTEL_ENV)


ENGINE = ProductFacts(
    "engine", "maestro-engine", frozenset({"MAESTRO_TEMPLATES_PATH", "DATABASE_URL", "MAESTRO_CORS_ORIGINS"})
)
FRONTEND = ProductFacts("frontend", "maestro-frontend", frozenset())
HIVE = ProductFacts("hive", "maestro-hive", frozenset({"MAESTRO_TEMPLATES_PATH", "MAESTRO_API_TOKEN"}))
QUALITY_FABRIC = ProductFacts(
    "quality-fabric", "quality-fabric", frozenset({"QF_TEST_CONFIG", "QF_RESULTS_DIR", "QF_API_URL", "QF_TARGET_API_TOKEN"})
)
ML_PLATFORM = ProductFacts("ml-platform", "maestro-ml-platform", frozenset(), single_replica=True)
REGISTRY = ProductFacts("registry", "maestro-registry", frozenset(), single_replica=True)

PRODUCTS: dict[str, ProductFacts] = {f.key: f for f in (ENGINE, FRONTEND, HIVE, QUALITY_FABRIC, ML_PLATFORM, REGISTRY)}
