"""Parsing what parses: a key whose value does not parse is set aside, and the rest of the config
is parsed without it, so that every later check still runs on every other part.

A check then must not read a key that was set aside as if it had been omitted (its default):
the key paths set aside are handed to it (`KeyPaths`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from pydantic import ValidationError

from maestro_deploy.config.settings import StackSettings

# How deep a bad value is set aside: a product's key (`components.engine.database`), a platform's
# key (`kubernetes.domain`). A check reads such a key whole: set aside whole, it is never half read.
DEPTH = {"components": 3}
DEFAULT_DEPTH = 2
# A required part that does not parse is checked as empty, so that every other part still is.
STAND_IN = {("components",): {}}
# Each round sets aside at least one more key; a key whose removal leaves its holder incomplete
# (a required key) takes the holder with it in the next round.
MAX_ROUNDS = 8


@dataclass(frozen=True)
class KeyPaths:
    """Key paths (`maestro:kubernetes.domain`), such as those set aside because they did not parse."""

    paths: frozenset[str] = frozenset()

    def __contains__(self, path: str) -> bool:
        """Whether `path` is one of them, or lies within one."""
        return any(path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in self.paths)


def parse_parts(ours: dict[str, Any], aside: set[tuple]) -> tuple[Optional[StackSettings], set[tuple]]:
    """(the settings of every part that parses, the locations of values set aside), with those in
    `aside` set aside from the start; settings None where even that cannot be parsed (the
    required `components` is missing or not a mapping)."""
    data = ours
    unparsed = set(aside)
    for loc in aside:
        data = _without(data, loc)
    for _ in range(MAX_ROUNDS):
        try:
            return StackSettings.model_validate(data), unparsed
        except ValidationError as err:
            errors = err.errors(include_url=False)
            bad = {_part(e) for e in errors}
            if () in bad or not all(_has(data, loc) or loc in STAND_IN for loc in bad):
                return None, unparsed
            for loc in bad:
                data = {**data, loc[0]: STAND_IN[loc]} if loc in STAND_IN else _without(data, loc)
            # An unknown key is set aside too, but nothing would have read it.
            unparsed |= {_part(e) for e in errors if e["type"] != "extra_forbidden"}
    return None, unparsed


def _part(error: Any) -> tuple:
    """The location to set aside for a pydantic error: an unknown key alone (nothing reads it), a
    missing key's holder, else the bad value's key at its part's depth."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    if error["type"] == "extra_forbidden":
        return loc
    if error["type"] == "missing" and loc not in STAND_IN:
        loc = loc[:-1]
    return loc[: DEPTH.get(loc[0], DEFAULT_DEPTH)] if loc else loc


def _has(data: Any, loc: tuple) -> bool:
    for part in loc:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _without(data: Any, loc: tuple) -> Any:
    """A copy of `data` without the key at `loc` (copied along the way only: the rest is shared)."""
    if not loc or not isinstance(data, dict) or loc[0] not in data:
        return data
    if len(loc) == 1:
        return {k: v for k, v in data.items() if k != loc[0]}
    return {**data, loc[0]: _without(data[loc[0]], loc[1:])}
