"""The reference image's program, run in-process: its roles and quality-fabric's runner."""

import http.server
import sys
import threading
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT

from components.products.quality_fabric import test_config as write_test_config

sys.path.insert(0, str(ROOT / "reference"))
import app  # noqa: E402
import runner  # noqa: E402


@pytest.fixture
def serve():
    """Start a role on a free port; yield a function that returns its base URL."""
    servers = []

    def start(role: str, env: dict[str, str] | None = None) -> str:
        handler = app.handler_for(role, env or {})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
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


def test_every_suite_passes_against_a_wired_engine_and_frontend(serve, tmp_path):
    engine = serve("engine")
    frontend = serve("frontend", {"VITE_MAESTRO_API_BASE": f"{engine}/api"})
    config = {"name": "t", "target": {"api_base": f"{engine}/api", "frontend_url": frontend}, "test_suites": ["unit", "integration", "e2e"]}
    assert runner.run(config, str(tmp_path), wait_seconds=0) == 0
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("4", "0")


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
