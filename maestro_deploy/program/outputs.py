"""A stack's outputs: what each product's component offers other stacks and their users."""

from __future__ import annotations

from typing import Any

# Product key -> output name -> the attribute of its component that holds it.
OUTPUTS: dict[str, dict[str, str]] = {
    "engine": {"engine_url": "public_api_url", "engine_internal_url": "api_url"},
    "frontend": {"frontend_url": "public_url", "frontend_internal_url": "url"},
    "hive": {"hive_internal_url": "url"},
    "quality-fabric": {"quality_fabric_url": "public_url", "quality_fabric_api_internal_url": "api_url"},
    "ml-platform": {"ml_platform_internal_url": "url"},
    # The uploaders' login: the password is a secret output (`pulumi stack output --show-secrets`).
    "registry": {
        "registry_url": "public_url",
        "registry_internal_url": "url",
        "registry_username": "username",
        "registry_password": "password",
    },
}
# Offered to other stacks only where their pods may call it (maestro:kubernetes.admit_namespaces).
OFFERED_ONLY = {"engine_internal_url"}


def product_outputs(key: str, component: Any, offered: bool) -> dict[str, Any]:
    return {
        name: getattr(component, attribute)
        for name, attribute in OUTPUTS[key].items()
        if offered or name not in OFFERED_ONLY
    }
