"""The product catalog (`config/catalog.yaml`): every default as data, checked on load."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict

from maestro_deploy.stack_file import load_data

CATALOG_PATH = Path(__file__).resolve().parent.parent / "config" / "catalog.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class UnitDefaults(_Strict):
    image: str
    kind: Literal["service", "task"]
    port: Optional[int] = None
    health_path: Optional[str] = None
    public_host: Optional[str] = None
    resources: dict[str, dict[str, str]]
    writable: list[str] = []
    reports: Optional[str] = None
    data: dict[str, str] = {}


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


@functools.cache
def load_catalog(path: Path = CATALOG_PATH) -> dict[str, ProductDefaults]:
    raw = load_data(path.read_text(encoding="utf-8"))
    return {key: ProductDefaults.model_validate(value) for key, value in raw.items()}
