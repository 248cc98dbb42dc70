"""The JSON Schema of a stack file, so that editors complete and check `config:`."""

from __future__ import annotations

from typing import Any

from maestro_deploy.config.settings import StackSettings
from maestro_deploy.config.validation import NAMESPACE


def stack_file_schema() -> dict[str, Any]:
    settings = StackSettings.model_json_schema(by_alias=True)
    defs = settings.pop("$defs", {})
    config_properties = {f"{NAMESPACE}:{key}": value for key, value in settings["properties"].items()}
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
