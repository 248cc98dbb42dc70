"""Quality-fabric's runner, as the reference image plays it: run the suites of
the mounted test config against its target, write JUnit XML, exit 0 or 1.

It knows nothing of Maestro's code, only the engine's published API contract
(POST/GET /api/workflows) and what a browser sees of the frontend.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any, Callable


def parse_test_config(text: str) -> dict:
    """The test config's YAML subset (nested mappings, lists of scalars), or JSON."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = []
    for raw in text.splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            lines.append((len(raw) - len(raw.lstrip()), raw.strip()))
    value, _ = _block(lines, 0, lines[0][0] if lines else 0)
    return value if isinstance(value, dict) else {}


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if i < len(lines) and lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            items.append(_scalar(lines[i][1][2:]))
            i += 1
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        key, _, rest = lines[i][1].partition(":")
        i += 1
        if rest.strip():
            mapping[key.strip()] = _scalar(rest.strip())
        elif i < len(lines) and (lines[i][0] > indent or lines[i][1].startswith("- ")):
            mapping[key.strip()], i = _block(lines, i, lines[i][0])
        else:
            mapping[key.strip()] = None
    return mapping, i


def _scalar(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


class Failure(Exception):
    pass


def fetch(url: str, method: str = "GET", body: Any = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as err:
        raise Failure(f"{method} {url}: unreachable ({getattr(err, 'reason', err)})") from None


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def api_answers(api_base: str) -> None:
    status, body = fetch(f"{api_base}/workflows")
    expect(status == 200, f"GET {api_base}/workflows answered {status}, expected 200")
    expect(isinstance(json.loads(body), list), "GET /workflows did not answer a JSON list")


def workflow_creation(api_base: str) -> None:
    status, body = fetch(f"{api_base}/workflows", "POST", {"name": "quality-fabric smoke", "steps": []})
    expect(status == 201, f"POST {api_base}/workflows answered {status}, expected 201")
    created = json.loads(body)
    status, body = fetch(f"{api_base}/workflows/{created['id']}")
    expect(status == 200, f"GET {api_base}/workflows/{created['id']} answered {status}, expected 200")
    expect(json.loads(body).get("name") == "quality-fabric smoke", "the workflow read back has another name")


def frontend_loads(frontend_url: str) -> None:
    status, body = fetch(frontend_url)
    expect(status == 200, f"GET {frontend_url} answered {status}, expected 200")
    title = re.search(r"<title>(.*?)</title>", body, re.S)
    expect(title is not None and "Maestro" in title.group(1), "the page's title does not contain Maestro")


def frontend_config_points_at_live_api(frontend_url: str) -> None:
    """The API the frontend's config names answers, and lets a browser on the frontend's
    origin call it: a CORS preflight, as the browser sends before a JSON POST."""
    status, body = fetch(f"{frontend_url.rstrip('/')}/config.js")
    expect(status == 200, f"GET {frontend_url}/config.js answered {status}, expected 200")
    found = re.search(r'"VITE_MAESTRO_API_BASE":\s*"([^"]*)"', body)
    expect(found is not None and found.group(1) != "", "config.js carries no VITE_MAESTRO_API_BASE")
    api_base = found.group(1).rstrip("/")
    api_answers(api_base)
    api_allows_origin(api_base, origin_of(frontend_url))


def origin_of(url: str) -> str:
    """A URL's origin as a browser sends it: scheme://host, with the port unless the default."""
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def api_allows_origin(api_base: str, origin: str) -> None:
    url = f"{api_base}/workflows"
    request = urllib.request.Request(
        url,
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as err:
        status, headers = err.code, err.headers
    except (urllib.error.URLError, OSError) as err:
        raise Failure(f"OPTIONS {url}: unreachable ({getattr(err, 'reason', err)})") from None
    allowed = headers.get("Access-Control-Allow-Origin")
    methods = {m.strip().upper() for m in headers.get("Access-Control-Allow-Methods", "").split(",")}
    names = {h.strip().lower() for h in headers.get("Access-Control-Allow-Headers", "").split(",")}
    expect(
        200 <= status < 300 and allowed in (origin, "*"),
        f"the API at {api_base} does not let a browser on the frontend's origin {origin} call it: its CORS "
        f"preflight answered {status} with Access-Control-Allow-Origin {allowed!r}",
    )
    expect(methods & {"POST", "*"} != set(), f"the API's CORS preflight does not allow POST from {origin}")
    expect(names & {"content-type", "*"} != set(), f"the API's CORS preflight does not allow Content-Type from {origin}")


def unknown_suite(_: str) -> None:
    raise Failure(f"no such suite; this runner knows {', '.join(SUITES)}")


# suite -> [(test name, test, the target URL it needs)]
SUITES: dict[str, list[tuple[str, Callable[[str], None], str]]] = {
    "unit": [("api_answers", api_answers, "api_base")],
    "integration": [("workflow_creation", workflow_creation, "api_base")],
    "e2e": [
        ("frontend_loads", frontend_loads, "frontend_url"),
        ("frontend_config_points_at_live_api", frontend_config_points_at_live_api, "frontend_url"),
    ],
}


def wait_until_reachable(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            fetch(url)
            return
        except Failure:
            if time.monotonic() > deadline:
                return  # the tests will report it
            time.sleep(1)


def run(config: dict, results_dir: str, wait_seconds: float = 60) -> int:
    target = config.get("target") or {}
    suites = ET.Element("testsuites", name=str(config.get("name", "quality-fabric")))
    failed = total = 0
    for url in {target.get("api_base"), target.get("frontend_url")} - {None}:
        wait_until_reachable(url, wait_seconds)
    for suite in config.get("test_suites") or []:
        element = ET.SubElement(suites, "testsuite", name=suite)
        cases = SUITES.get(suite) or [("known_suite", unknown_suite, "api_base")]
        suite_failed = 0
        for name, test, needs in cases:
            total += 1
            case = ET.SubElement(element, "testcase", classname=suite, name=name)
            started = time.monotonic()
            try:
                url = target.get(needs)
                expect(bool(url), f"the test config gives no target.{needs}")
                test(url.rstrip("/"))
                outcome = "passed"
            except (Failure, ValueError, KeyError) as err:
                ET.SubElement(case, "failure", message=str(err))
                suite_failed += 1
                outcome = f"FAILED: {err}"
            case.set("time", f"{time.monotonic() - started:.3f}")
            print(f"{suite}.{name}: {outcome}", flush=True)
        element.set("tests", str(len(cases)))
        element.set("failures", str(suite_failed))
        failed += suite_failed
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    os.makedirs(results_dir, exist_ok=True)
    ET.ElementTree(suites).write(os.path.join(results_dir, "junit.xml"), encoding="utf-8", xml_declaration=True)
    print(f"{total - failed} passed, {failed} failed of {total}; JUnit XML in {results_dir}/junit.xml", flush=True)
    # The report in the log too: a cluster keeps a finished Job's log, not its files.
    print("::junit-xml-begin::", ET.tostring(suites, encoding="unicode"), "::junit-xml-end::", sep="\n", flush=True)
    return 1 if failed or total == 0 else 0


def run_from_env(env: dict[str, str]) -> int:
    with open(env["QF_TEST_CONFIG"], encoding="utf-8") as f:
        config = parse_test_config(f.read())
    return run(config, env["QF_RESULTS_DIR"], float(env.get("QF_WAIT_SECONDS", "60")))


if __name__ == "__main__":
    sys.exit(run_from_env(dict(os.environ)))
