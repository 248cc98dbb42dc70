"""The product catalog (`config/catalog.yaml`): every default as data, checked on load."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict

# LibYAML's parser when PyYAML has it: the pure-Python one costs a render tens of milliseconds.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_data(text: str):
    """A YAML data file (catalog, compatibility matrix), safely and fast."""
    return yaml.load(text, Loader=SafeLoader)


def package_data(name: str) -> str:
    """A data file shipped with the library (config/ in the repo): `catalog.yaml`, ..."""
    return resources.files("maestro_components.config").joinpath(name).read_text(encoding="utf-8")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class MetricsDefaults(_Strict):
    port: Optional[int] = None  # omitted: the unit's own port
    path: str = "/metrics"


class UnitDefaults(_Strict):
    image: str
    kind: Literal["service", "task"]
    port: Optional[int] = None
    health_path: Optional[str] = None
    public_host: Optional[str] = None
    resources: dict[str, dict[str, str]]
    writable: list[str] = []
    reports: Optional[str] = None
    deadline_seconds: Optional[int] = None
    data: dict[str, str] = {}
    metrics: Optional[MetricsDefaults] = None


class DatabaseDefaults(_Strict):
    image: str
    version: str
    port: int
    name: str
    user: str
    size: str
    resources: dict[str, dict[str, str]]


class ProductDefaults(_Strict):
    version: str
    units: dict[str, UnitDefaults]
    api_path: Optional[str] = None
    templates_path: Optional[str] = None
    database: Optional[DatabaseDefaults] = None
    test_suites: Optional[list[str]] = None
    test_config_path: Optional[str] = None

    def unit_name(self, name: str, component: str) -> str:
        """A unit is named after the component resource that owns it: `Engine("engine-blue")`'s
        API is `engine-blue`, quality-fabric's runner `<name>-runner`; two never collide."""
        return name if len(self.units) == 1 else f"{name}-{component}"

    def database_unit_name(self, name: str) -> str:
        """The bundled database's unit, named after the product's component: `engine-blue-db`."""
        return f"{name}-db"


@functools.cache
def load_catalog() -> dict[str, ProductDefaults]:
    raw = load_data(package_data("catalog.yaml"))
    return {key: ProductDefaults.model_validate(value) for key, value in raw.items()}
