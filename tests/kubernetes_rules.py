"""What the API server checks of an object, from Kubernetes' own sources rather than from our grammar
(components/grammar.py), so that a property test judges our grammar against the platform's:

- the object's schema, by kubernetes-validate (Kubernetes' OpenAPI schemas, strict: an unknown
  field is an error), in-process, against the versions scripts/gates validates;
- what that schema leaves to the API server's Go validation (it has no pattern for a name, a label
  value or a host), by apimachinery's rules as written in k8s.io/apimachinery
  pkg/api/validate/content/dns.go and kube.go (v0.37.0-beta.0, commit eed236ceee2c).
"""

import functools
import re
from typing import Any

from kubernetes_validate import utils

# kubernetes-validate reads its 1.1 MB definitions file again for every object it validates:
# read each schema file once per test process instead.
utils.schema_contents = functools.cache(utils.schema_contents)

VERSIONS = ("1.29.0", "1.37.0")

# kube.go: labelKeyFmt, labelValueFmt, LabelValueMaxLength.
LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = re.compile(f"({LABEL_KEY_FMT})?")
LABEL_VALUE_MAX_LENGTH = 63
# dns.go: dns1123LabelFmt, dns1123SubdomainFmt, DNS1123SubdomainMaxLength.
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = re.compile(DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*")
DNS1123_SUBDOMAIN_MAX_LENGTH = 253


def is_label_value(value: str) -> bool:
    return len(value) <= LABEL_VALUE_MAX_LENGTH and LABEL_VALUE.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= DNS1123_SUBDOMAIN_MAX_LENGTH and DNS1123_SUBDOMAIN.fullmatch(value) is not None


def problems(obj: dict[str, Any]) -> list[str]:
    """Why the API server would refuse `obj` (none: it takes it)."""
    found = []
    for version in VERSIONS:
        try:
            utils.validate(obj, version, strict=True)
        except utils.ValidationError as err:
            found.append(f"Kubernetes {version} schema: {'.'.join(map(str, err.absolute_path))}: {err.message}")
    meta = obj["metadata"]
    if not is_dns1123_subdomain(meta["name"]):
        found.append(f"name {meta['name']!r} is not a DNS-1123 subdomain")
    found += [f"label {k}={v!r} is not a label value" for k, v in (meta.get("labels") or {}).items() if not is_label_value(v)]
    for rule in obj.get("spec", {}).get("rules", []) if obj["kind"] == "Ingress" else []:
        if not is_dns1123_subdomain(rule["host"]):
            found.append(f"Ingress host {rule['host']!r} is not a DNS-1123 subdomain")
    return found
