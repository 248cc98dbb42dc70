"""What quality-fabric's JUnit XML says: how many tests ran, and which failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Summary:
    tests: int = 0
    failures: int = 0
    cases: list[tuple[str, Optional[str]]] = field(default_factory=list)  # (name, failure message)


def summarize(junit: str) -> Summary:
    root = ET.fromstring(junit)
    summary = Summary()
    for case in root.iter("testcase"):
        failure = case.find("failure")
        summary.cases.append((f"{case.get('classname')}.{case.get('name')}", None if failure is None else failure.get("message")))
    summary.tests = len(summary.cases)
    summary.failures = sum(1 for _, f in summary.cases if f is not None)
    return summary
