"""The JSON Schema of a stack file, so that editors complete and check `config:`."""

from __future__ import annotations

from typing import Any

from maestro_deploy.config.secure_values import SECRET_PATHS
from maestro_deploy.config.settings import StackSettings
from maestro_deploy.config.validation import NAMESPACE

# What `pulumi config set --secret --path KEY VALUE` writes in place of the value.
SECURE = {
    "type": "object",
    "description": "A Pulumi secret, as `pulumi config set --secret --path` writes it.",
    "properties": {"secure": {"type": "string", "pattern": "^v[0-9]+:"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    settings = StackSettings.model_json_schema(by_alias=True)
    defs = settings.pop("$defs", {})
    config_properties = {f"{NAMESPACE}:{key}": value for key, value in settings["properties"].items()}
    defs["Secure"] = SECURE
    for path in SECRET_PATHS:
        _allow_secure(config_properties, defs, path)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "maestro-deploy stack file",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config_properties,
                "required": [f"{NAMESPACE}:{key}" for key in settings.get("required", [])],
                # Keys of other namespaces configure providers (`kubernetes:context`).
                "patternProperties": {r"^(?!maestro:)[A-Za-z0-9_-]+:.+$": {}},
                "additionalProperties": False,
            },
            "encryptionsalt": {"type": "string"},
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
        },
        "$defs": defs,
    }


def _allow_secure(config_properties: dict[str, Any], defs: dict[str, Any], path: str) -> None:
    """The key at `path` (`components.engine.database.url`) takes its plain form or, as only the
    keys that hold a secret do, the encrypted one. Set on the model's definition: a model is a
    secret's home wherever it appears."""
    first, *rest = path.split(".")
    properties = config_properties
    node = properties[f"{NAMESPACE}:{first}"]
    for part in rest:
        properties = _definition(node, defs)["properties"]
        node = properties[part]
    plain = {k: v for k, v in node.items() if k not in ("description", "title", "default")}
    described = {k: v for k, v in node.items() if k in ("description", "title", "default")}
    forms = plain["anyOf"] if list(plain) == ["anyOf"] else [plain]  # Optional[X]: X or null, already
    properties[rest[-1] if rest else f"{NAMESPACE}:{first}"] = {**described, "anyOf": [*forms, {"$ref": "#/$defs/Secure"}]}


def _definition(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The model a property holds: its `$ref`, or the one `$ref` among its `anyOf` (Optional)."""
    refs = [node["$ref"]] if "$ref" in node else [o["$ref"] for o in node.get("anyOf", []) if "$ref" in o]
    (ref,) = refs
    return defs[ref.removeprefix("#/$defs/")]
