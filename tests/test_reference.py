"""The reference image's program, run in-process: its roles and quality-fabric's runner."""

import http.server
import json
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT

from maestro_components.products.quality_fabric import test_config as write_test_config

sys.path.insert(0, str(ROOT / "reference"))
import app  # noqa: E402
import runner  # noqa: E402


@pytest.fixture
def serve():
    """Start a role on a free port; yield a function that returns its base URL."""
    servers = []

    def start(role: str, env: dict[str, str] | None = None) -> str:
        handler = app.handler_for(role, {} if env is None else env)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        start.handler = handler  # the last role started, for a test that reads its metrics
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_runner_reads_the_test_config_the_product_writes():
    text = write_test_config("smoke tests", "http://engine:8000/api", "http://frontend:8080", ["unit", "e2e"])
    assert runner.parse_test_config(text) == {
        "name": "smoke tests",
        "target": {"api_base": "http://engine:8000/api", "frontend_url": "http://frontend:8080"},
        "test_suites": ["unit", "e2e"],
    }


def wired(serve, allowed_origins=None) -> tuple[str, str]:
    """An engine and a frontend on it; the engine allows the frontend's origin unless told which."""
    engine_env: dict[str, str] = {}
    engine = serve("engine", engine_env)
    frontend = serve("frontend", {"VITE_MAESTRO_API_BASE": f"{engine}/api"})
    engine_env["MAESTRO_CORS_ORIGINS"] = frontend if allowed_origins is None else allowed_origins
    return engine, frontend


def test_every_suite_passes_against_a_wired_engine_and_frontend(serve, tmp_path):
    engine, frontend = wired(serve)
    config = {"name": "t", "target": {"api_base": f"{engine}/api", "frontend_url": frontend}, "test_suites": ["unit", "integration", "e2e"]}
    assert runner.run(config, str(tmp_path), wait_seconds=0) == 0
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("4", "0")


@pytest.mark.parametrize("allowed", ["", "https://dashboard.partner.example.com"])
def test_a_cors_break_fails_e2e_on_any_target(serve, tmp_path, allowed):
    """The API answers the server-side calls, but a browser on the frontend could not call it."""
    engine, frontend = wired(serve, allowed)
    config = {"target": {"api_base": f"{engine}/api", "frontend_url": frontend}, "test_suites": ["e2e"]}
    assert runner.run(config, str(tmp_path), wait_seconds=0) == 1
    (failure,) = ET.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert f"does not let a browser on the frontend's origin {frontend} call it" in failure.get("message")


def test_a_frontend_configured_with_a_dead_api_fails_e2e(serve, tmp_path):
    engine = serve("engine")
    frontend = serve("frontend", {"VITE_MAESTRO_API_BASE": "http://127.0.0.1:9/api"})
    config = {"target": {"api_base": f"{engine}/api", "frontend_url": frontend}, "test_suites": ["e2e"]}
    assert runner.run(config, str(tmp_path), wait_seconds=0) == 1
    (failure,) = ET.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert "http://127.0.0.1:9/api/workflows: unreachable" in failure.get("message")


def test_a_target_that_is_not_the_engines_api_fails(serve, tmp_path):
    not_an_api = serve("hive")  # answers /health only
    config = {"target": {"api_base": f"{not_an_api}/api"}, "test_suites": ["unit", "integration", "nonsense"]}
    assert runner.run(config, str(tmp_path), wait_seconds=0) == 1
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("3", "3")


def test_the_engine_keeps_workflows_in_the_database_it_is_given(serve):
    """With DATABASE_URL the engine stores in PostgreSQL (proven live by scripts/smoke); a
    database that is away makes /health and every workflow call answer 503."""
    import json
    import urllib.error
    import urllib.request

    engine = serve("engine", {"DATABASE_URL": "postgresql://maestro:s3cret@127.0.0.1:9/maestro"})
    assert isinstance(app.store_from_env({"DATABASE_URL": "postgresql://x:y@h/db"}), app.PostgresStore)
    for path in ("/health", "/api/workflows"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{engine}{path}")
        body = json.loads(refused.value.read())
        assert refused.value.code == 503 and "unreachable" in json.dumps(body)
        assert "s3cret" not in json.dumps(body)


def test_a_database_url_is_parsed_with_escapes_and_never_shown():
    store = app.PostgresStore("postgresql://maestro:p%40ss%3Aword@db.internal:6543/maestro")
    assert store.params | {"password": "-"} == {
        "user": "maestro", "password": "-", "host": "db.internal", "port": 6543, "database": "maestro", "timeout": 3.0
    }
    assert store.params["password"] == "p@ss:word"


def test_the_role_comes_from_maestro_role_or_the_wiring():
    assert app.role_from_env({"MAESTRO_ROLE": "ml-platform"}) == "ml-platform"
    assert app.role_from_env({"QF_TEST_CONFIG": "x", "QF_RESULTS_DIR": "y"}) == "quality-fabric-runner"
    assert app.role_from_env({"DATABASE_URL": "x", "MAESTRO_TEMPLATES_PATH": "y"}) == "engine"
    with pytest.raises(SystemExit, match="MAESTRO_ROLE must be one of"):
        app.role_from_env({})


def test_the_engine_allows_only_its_configured_origins(serve):
    import urllib.request

    engine = serve("engine", {"MAESTRO_CORS_ORIGINS": "https://dashboard.partner.example.com"})

    def allowed(origin: str):
        request = urllib.request.Request(f"{engine}/health", headers={"Origin": origin})
        with urllib.request.urlopen(request) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert allowed("https://dashboard.partner.example.com") == "https://dashboard.partner.example.com"
    assert allowed("https://evil.example.com") is None


def preflight(url: str, origin: str, method: str = "POST", headers: str = "content-type"):
    import urllib.error
    import urllib.request

    asked = {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="OPTIONS", headers=asked)) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


def test_the_engine_answers_a_preflight_only_for_an_allowed_origin_method_and_header(serve):
    partner = "https://dashboard.partner.example.com"
    engine = serve("engine", {"MAESTRO_CORS_ORIGINS": f"http://app.localhost:8080,{partner}"})
    status, headers = preflight(f"{engine}/api/workflows", partner)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == partner
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert headers["Vary"] == "Origin"
    for refused in (
        preflight(f"{engine}/api/workflows", "https://evil.example.com"),
        preflight(f"{engine}/api/workflows", partner, method="DELETE"),
        preflight(f"{engine}/api/workflows", partner, headers="content-type, x-secret"),
    ):
        assert refused[0] == 403 and "Access-Control-Allow-Origin" not in refused[1]
        assert "Access-Control-Allow-Methods" not in refused[1]


def test_an_engine_with_no_allowed_origin_allows_no_browser(serve):
    engine = serve("engine", {})
    status, headers = preflight(f"{engine}/api/workflows", "http://app.localhost:8080")
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_the_frontend_is_a_page_that_calls_the_api_it_is_configured_with(serve):
    import urllib.request

    frontend = serve("frontend", {"VITE_MAESTRO_API_BASE": "http://api.localhost:8000/api"})
    page = urllib.request.urlopen(f"{frontend}/").read().decode()
    assert "<title>Maestro</title>" in page and '<form id="create">' in page and '<script src="/app.js">' in page
    script = urllib.request.urlopen(f"{frontend}/app.js").read().decode()
    assert 'call("POST", "/workflows"' in script and 'call("GET", "/workflows")' in script
    config = urllib.request.urlopen(f"{frontend}/config.js").read().decode()
    assert '"VITE_MAESTRO_API_BASE": "http://api.localhost:8000/api"' in config


def scrape(handler) -> dict:
    """A role's /metrics as Prometheus's own parser of the text format reads it: family name ->
    its samples. The parser raises on anything Prometheus would refuse."""
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(app.exposition(handler))}


def sample(families: dict, name: str, **labels) -> float:
    family_name = name.removesuffix("_total").removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
    values = [s.value for s in families[family_name].samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(values) == 1, (name, labels, values)
    return values[0]


def test_metrics_count_requests_by_route_and_status_in_the_text_format(serve):
    import urllib.error
    import urllib.request

    base = serve("engine", {})
    handler = serve.handler
    for _ in range(3):
        urllib.request.urlopen(f"{base}/health").read()
    created = json.loads(urllib.request.urlopen(urllib.request.Request(f"{base}/api/workflows", data=b'{"name": "w"}', method="POST")).read())
    for path in (f"/api/workflows/{created['id']}", "/api/workflows/missing"):
        try:
            urllib.request.urlopen(f"{base}{path}").read()
        except urllib.error.HTTPError:
            pass
    # A request is counted when its handler returns, which may be just after the client read the
    # reply (urllib raises on a 404 as soon as it has the status line): wait for the last one.
    deadline = time.monotonic() + 5
    while sum(s.value for s in scrape(handler)["maestro_http_requests"].samples) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    families = scrape(handler)
    assert families["maestro_http_requests"].type == "counter"
    assert sample(families, "maestro_http_requests_total", route="/health", method="GET", status="200") == 3
    assert sample(families, "maestro_http_requests_total", route="/api/workflows", method="POST", status="201") == 1
    # Ids in paths share one route label: the series stay bounded.
    assert sample(families, "maestro_http_requests_total", route="/api/workflows/{id}", status="200") == 1
    assert sample(families, "maestro_http_requests_total", route="/api/workflows/{id}", status="404") == 1
    assert families["maestro_http_request_duration_seconds"].type == "histogram"
    assert sample(families, "maestro_http_request_duration_seconds_count", route="/health", status="200") == 3
    assert sample(families, "maestro_http_request_duration_seconds_bucket", route="/health", status="200", le="+Inf") == 3
    assert sample(families, "maestro_engine_workflows_stored") == 1
    assert sample(families, "maestro_engine_database_up") == 1


def test_the_engine_reports_its_database_down_and_stores_nothing_it_cannot_count():
    # A PostgreSQL URL where nothing listens: the database is away.
    handler = app.handler_for("engine", {"DATABASE_URL": "postgresql://maestro:pw@127.0.0.1:9/maestro"})
    handler.store.params["timeout"] = 0.5
    families = scrape(handler)
    assert sample(families, "maestro_engine_database_up") == 0
    assert "maestro_engine_workflows_stored" not in families
    assert "pw" not in app.exposition(handler)


def test_other_roles_export_requests_only_and_label_values_are_escaped():
    handler = app.handler_for("hive", {})
    handler.metrics.observe('a"b\\c\nd', "GET", 200, 0.2)
    families = scrape(handler)
    assert sample(families, "maestro_http_requests_total", route='a"b\\c\nd') == 1
    assert sample(families, "maestro_http_request_duration_seconds_bucket", le="0.1") == 0
    assert sample(families, "maestro_http_request_duration_seconds_bucket", le="0.25") == 1
    assert not any(name.startswith("maestro_engine") for name in families)


def test_the_metrics_server_answers_metrics_and_nothing_else():
    import urllib.error
    import urllib.request

    from metrics import CONTENT_TYPE, serve_metrics

    server = serve_metrics(0, lambda: "up 1\n", host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/metrics") as reply:
            assert (reply.headers["Content-Type"], reply.read()) == (CONTENT_TYPE, b"up 1\n")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/health")
        assert refused.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
