"""The compatibility matrix (`config/compatibility-matrix.yaml`): which product versions
work together, checked before anything is registered.

Each product version lists, under `compatible_<kind>`, the ranges of the others that it
works with; a product built against another's API (a frontend or a hive and their engine, by the
wiring table) must also share the major of their `api_contract_version`. A pair that breaks either is an error naming both products,
their versions and the range, unless either product says `allow_incompatible: true`
(then a warning). A version missing from the matrix is a warning: unchecked.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from maestro_components.catalog import load_data, package_data
from maestro_components.products.facts import PRODUCTS
from maestro_components.wiring import WIRING

from maestro_deploy.config.errors import Problem

# product key in a stack -> its name in the matrix
MATRIX_NAME = {key: facts.matrix_name for key, facts in PRODUCTS.items()}
PRODUCT_KEY = {name: key for key, name in MATRIX_NAME.items()}
# Products whose API contract versions must agree: each caller built against its callee's API,
# as the wiring table says (a tester of any target is not).
CONTRACT_PAIRS = [(call.caller, call.callee) for call in WIRING if call.versioned]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    compatible_frontends: list[dict[str, str]] = Field(default_factory=list)
    compatible_backends: list[dict[str, str]] = Field(default_factory=list)
    compatible_engines: list[dict[str, str]] = Field(default_factory=list)
    compatible_hives: list[dict[str, str]] = Field(default_factory=list)
    required_shared: list[dict[str, str]] = Field(default_factory=list)
    tested_with: list[dict[str, str]] = Field(default_factory=list)
    api_contract_version: Optional[str] = None

    def requirements(self) -> list[tuple[str, str]]:
        """(matrix name, range) of every enforced requirement."""
        lists = (self.compatible_frontends, self.compatible_backends, self.compatible_engines, self.compatible_hives)
        return [(name, rng) for items in lists for item in items for name, rng in item.items()]


@functools.cache
def load_matrix() -> dict[str, dict[str, Entry]]:
    raw = load_data(package_data("compatibility-matrix.yaml")) or {}
    return {
        product: {_bare(version): Entry.model_validate(entry or {}) for version, entry in versions.items()}
        for product, versions in raw.items()
    }


# --- npm-style version ranges ---

def _bare(version: str) -> str:
    return str(version).removeprefix("v")


def parse_version(version: str) -> tuple[int, int, int]:
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(version))
    if not match:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def _comparator(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    """One comparator of a range as (operator, version) bounds that must all hold."""
    if text in ("*", "x", ""):
        return []
    if text[0] in "^~":
        low = parse_version(text[1:])
        parts = len(text[1:].split("."))
        if text[0] == "^":
            major, minor, patch = low
            high = (major + 1, 0, 0) if major else ((0, minor + 1, 0) if minor or parts < 3 else (0, 0, patch + 1))
        else:
            high = (low[0] + 1, 0, 0) if parts == 1 else (low[0], low[1] + 1, 0)
        return [(">=", low), ("<", high)]
    match = re.match(r"^(>=|<=|>|<|=)?\s*v?(.*)$", text)
    op, rest = match.group(1) or "=", match.group(2)
    wild = re.match(r"^(\d+)(?:\.(\d+|x|\*))?(?:\.(x|\*))?$", rest)
    if op == "=" and wild and (len(rest.split(".")) < 3 or "x" in rest or "*" in rest):
        major, minor = int(wild.group(1)), wild.group(2)
        if minor in (None, "x", "*"):
            return [(">=", (major, 0, 0)), ("<", (major + 1, 0, 0))]
        return [(">=", (major, int(minor), 0)), ("<", (major, int(minor) + 1, 0))]
    return [(op, parse_version(rest))]


def satisfies(version: str, spec: str) -> bool:
    """Whether `version` is in the npm-style range `spec` (pre-release tags are ignored)."""
    v = parse_version(version)
    tests = {">=": v.__ge__, "<=": v.__le__, ">": v.__gt__, "<": v.__lt__, "=": v.__eq__}
    for alternative in spec.split("||"):
        tokens = re.findall(r"(?:>=|<=|>|<|=)?\s*[^\s,]+", alternative.replace(",", " "))
        if all(tests[op](bound) for token in tokens for op, bound in _comparator(token.strip())):
            return True
    return False


# --- the check ---

@dataclass(frozen=True)
class Deployed:
    """A product version in the environment: in this stack, or in a referenced stack."""

    key: str
    version: str
    allow_incompatible: bool = False
    stack: Optional[str] = None  # the referenced stack it runs in; None: this one

    def describe(self) -> str:
        where = f" (in stack {self.stack})" if self.stack else ""
        return f"{self.key} {self.version}{where}"


def check(products: list[Deployed], matrix: Optional[dict[str, dict[str, Entry]]] = None) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the environment made of `products`."""
    matrix = load_matrix() if matrix is None else matrix
    errors: list[Problem] = []
    warnings: list[Problem] = []
    by_key = {p.key: p for p in products}
    entries: dict[str, Entry] = {}
    for p in products:
        entry = matrix.get(MATRIX_NAME.get(p.key, p.key), {}).get(_bare(p.version))
        if entry is None:
            if p.stack is None:
                warnings.append(
                    Problem(_path(p), f"{p.describe()} is not in config/compatibility-matrix.yaml: its compatibility is unchecked")
                )
            continue
        entries[p.key] = entry
    for key, entry in entries.items():
        product = by_key[key]
        for name, spec in entry.requirements():
            other = by_key.get(PRODUCT_KEY.get(name, ""))
            if other is None or satisfies(other.version, spec):
                continue
            message = f"{product.describe()} requires {other.key} {spec}, but {other.describe()} is deployed"
            _report(errors, warnings, product, other, message)
    for a, b in CONTRACT_PAIRS:
        ea, eb = entries.get(a), entries.get(b)
        if ea and eb and ea.api_contract_version and eb.api_contract_version:
            if ea.api_contract_version.split(".")[0] != eb.api_contract_version.split(".")[0]:
                message = (
                    f"{by_key[a].describe()} speaks API contract {ea.api_contract_version}, but "
                    f"{by_key[b].describe()} serves {eb.api_contract_version}"
                )
                _report(errors, warnings, by_key[a], by_key[b], message)
    return errors, warnings


def _path(p: Deployed) -> str:
    return f"maestro:components.{p.key}"


def _report(errors: list[Problem], warnings: list[Problem], product: Deployed, other: Deployed, message: str) -> None:
    if product.allow_incompatible or other.allow_incompatible:
        warnings.append(Problem(_path(product), f"{message}; deployed anyway (allow_incompatible)"))
    else:
        local = product if product.stack is None else other
        errors.append(Problem(_path(local), f"{message}; set allow_incompatible: true on either to deploy anyway"))
