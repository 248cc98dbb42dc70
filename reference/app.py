"""The reference image: one small program that stands in for every Maestro product
whose own image cannot be had (the engine, the frontend, hive, quality-fabric and the
ML platform); PostgreSQL and the registry (pypiserver) run as themselves.

In the spirit of podinfo, its only job is to prove that a deployment works: that
each unit starts, answers its health check, and is wired to the others by the
URLs and secrets the stack gives it. Python's standard library, plus the engine's
PostgreSQL driver (pg8000, pure Python, pinned in vendor-wheels.lock).

The role comes from MAESTRO_ROLE; without it, from the variable that the
wiring gives each unit (see ROLE_BY_WIRED_ENV). Each role listens on the port
the product catalog gives that unit (tests keep ROLES and the catalog equal).
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
import urllib.parse
import urllib.request
import time
import uuid

from metrics import RequestMetrics, gauge, serve_metrics

# role -> port it listens on (config/catalog.yaml's ports)
ROLES = {
    "engine": 8000,
    "frontend": 8080,
    "hive": 8080,
    "quality-fabric-api": 8080,
    "quality-fabric-ui": 8090,
    "quality-fabric-runner": None,  # a task: runs the suites and exits
    "ml-platform": 8000,
}
# Where every serving role answers GET /metrics (the catalog's `metrics.port`): a port of its own.
METRICS_PORT = 9464
# The first of these set in the environment names the role (checked in this order).
ROLE_BY_WIRED_ENV = [
    ("QF_RESULTS_DIR", "quality-fabric-runner"),
    ("QF_TEST_CONFIG", "quality-fabric-api"),
    ("QF_API_URL", "quality-fabric-ui"),
    ("VITE_MAESTRO_API_BASE", "frontend"),
    ("DATABASE_URL", "engine"),
    ("MAESTRO_API_BASE", "hive"),
]


def role_from_env(env: dict[str, str]) -> str:
    role = env.get("MAESTRO_ROLE")
    if role is None:
        role = next((r for var, r in ROLE_BY_WIRED_ENV if var in env), None)
    if role not in ROLES:
        raise SystemExit(f"MAESTRO_ROLE must be one of {', '.join(ROLES)} (got {role!r})")
    return role


# --- the engine's store: PostgreSQL through DATABASE_URL, with a real driver ---

class MemoryStore:
    """Workflows in memory: for an engine given no DATABASE_URL (in-process tests)."""

    def __init__(self):
        self.workflows: dict[str, dict] = {}
        self.lock = threading.Lock()

    def check(self) -> str:
        return "ok"

    def add(self, workflow: dict) -> dict:
        with self.lock:
            self.workflows[workflow["id"]] = workflow
        return workflow

    def get(self, workflow_id: str) -> dict | None:
        with self.lock:
            return self.workflows.get(workflow_id)

    def all(self) -> list[dict]:
        with self.lock:
            return list(self.workflows.values())

    def count(self) -> int:
        with self.lock:
            return len(self.workflows)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or refuses us: the message says which, never the password."""


class PostgresStore:
    """Workflows in the engine's PostgreSQL (pg8000, pure Python). A connection per request:
    the engine keeps answering, and reports in /health, while the database is away."""

    SCHEMA = "CREATE TABLE IF NOT EXISTS workflows (id text PRIMARY KEY, body text NOT NULL, created timestamptz NOT NULL DEFAULT now())"

    def __init__(self, url: str, timeout: float = 3.0):
        parts = urllib.parse.urlsplit(url)
        self.params = {
            "user": urllib.parse.unquote(parts.username or ""),
            "password": urllib.parse.unquote(parts.password or ""),
            "host": parts.hostname,
            "port": parts.port or 5432,
            "database": urllib.parse.unquote(parts.path.lstrip("/")) or None,
            "timeout": timeout,
        }
        self.schema_ready = False

    def _run(self, sql: str, **params) -> list:
        import pg8000.native
        from pg8000.exceptions import DatabaseError, InterfaceError

        try:
            conn = pg8000.native.Connection(**self.params)
        except (InterfaceError, OSError) as err:
            raise DatabaseUnavailable(f"unreachable: {err}") from None
        except DatabaseError as err:
            detail = err.args[0] if err.args else {}
            message = detail.get("M", "refused") if isinstance(detail, dict) else str(detail)
            raise DatabaseUnavailable(f"refused: {message}") from None
        try:
            if not self.schema_ready:
                conn.run(self.SCHEMA)
                self.schema_ready = True
            return conn.run(sql, **params)
        finally:
            conn.close()

    def check(self) -> str:
        try:
            self._run("SELECT 1")
        except DatabaseUnavailable as err:
            return str(err)
        return "ok"

    def add(self, workflow: dict) -> dict:
        self._run("INSERT INTO workflows (id, body) VALUES (:id, :body)", id=workflow["id"], body=json.dumps(workflow))
        return workflow

    def get(self, workflow_id: str) -> dict | None:
        rows = self._run("SELECT body FROM workflows WHERE id = :id", id=workflow_id)
        return json.loads(rows[0][0]) if rows else None

    def all(self) -> list[dict]:
        return [json.loads(body) for (body,) in self._run("SELECT body FROM workflows ORDER BY created, id")]

    def count(self) -> int:
        return self._run("SELECT count(*) FROM workflows")[0][0]


def store_from_env(env: dict[str, str]):
    return PostgresStore(env["DATABASE_URL"]) if env.get("DATABASE_URL") else MemoryStore()


# --- HTTP roles ---

# The frontend's single page (reference/frontend/): path -> (file, content type).
FRONTEND_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frontend")
FRONTEND_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "application/javascript"),
}
# What a browser on an allowed origin may send to the engine's API (as FastAPI's CORSMiddleware
# would be configured): the methods and the one request header the frontend uses.
CORS_METHODS = ("GET", "POST")
CORS_HEADERS = ("content-type",)


def route_of(path: str) -> str:
    """The route a request matched, as a label: one value per route, whatever the ids in the
    path, so that the number of series stays bounded."""
    path = urllib.parse.urlsplit(path).path
    if path.startswith("/api/workflows/"):
        return "/api/workflows/{id}"
    if path in ("/health", "/api/workflows", "/config.js") or path in FRONTEND_FILES:
        return path
    return "other"


class Handler(http.server.BaseHTTPRequestHandler):
    role = "engine"
    env: dict[str, str] = {}
    store = MemoryStore()
    metrics = RequestMetrics()
    status = 0  # of the reply being sent, for the request metrics

    def handle_one_request(self):
        started = time.perf_counter()
        self.status = 0
        super().handle_one_request()
        if self.status:  # a request that got no reply (the client went away) is not counted
            route = route_of(getattr(self, "path", ""))
            self.metrics.observe(route, getattr(self, "command", None) or "", self.status, time.perf_counter() - started)

    def send_response(self, code, message=None):
        self.status = code
        super().send_response(code, message)

    def log_message(self, fmt, *args):  # one line per request, on stdout
        sys.stdout.write(f"{self.role} {self.address_string()} {fmt % args}\n")

    def reply(
        self, status: int, body, content_type: str = "application/json", extra_headers: dict | None = None, cors: bool = True
    ) -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.role == "engine" and cors and self.allowed_origin():
            self.send_header("Access-Control-Allow-Origin", self.allowed_origin())
        if self.role == "engine":
            self.send_header("Vary", "Origin")  # the answer depends on who asks
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def allowed_origin(self) -> str | None:
        """The request's Origin when the engine allows it (MAESTRO_CORS_ORIGINS), else None:
        a browser on any other origin is refused the answer."""
        origin = self.headers.get("Origin")
        allowed = {o for o in self.env.get("MAESTRO_CORS_ORIGINS", "").split(",") if o}
        return origin if origin in allowed else None

    def do_OPTIONS(self):
        """A CORS preflight: the allowed methods and headers for an allowed origin asking for
        them; a refusal, with no Access-Control-Allow-Origin, for anyone else."""
        if self.role != "engine" or not urllib.parse.urlsplit(self.path).path.startswith("/api/"):
            return self.reply(404, {"error": "not found"})
        method = self.headers.get("Access-Control-Request-Method", "")
        headers = {h.strip().lower() for h in self.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()}
        if self.headers.get("Origin") is None:
            return self.reply(204, "", "text/plain", {"Allow": ", ".join(CORS_METHODS + ("OPTIONS",))})
        if not self.allowed_origin() or method not in CORS_METHODS or not headers <= set(CORS_HEADERS):
            return self.reply(403, {"error": "CORS preflight refused: origin, method or headers not allowed"}, cors=False)
        self.reply(
            204,
            "",
            "text/plain",
            {
                "Access-Control-Allow-Methods": ", ".join(CORS_METHODS),
                "Access-Control-Allow-Headers": ", ".join(CORS_HEADERS),
                "Access-Control-Max-Age": "600",
            },
        )

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/health":
            return self.health()
        if self.role == "frontend" and path in FRONTEND_FILES:
            name, content_type = FRONTEND_FILES[path]
            with open(os.path.join(FRONTEND_DIR, name), encoding="utf-8") as f:
                return self.reply(200, f.read(), content_type)
        if self.role == "frontend" and path == "/config.js":
            config = {"VITE_MAESTRO_API_BASE": self.env.get("VITE_MAESTRO_API_BASE", "")}
            return self.reply(200, f"window.__MAESTRO_CONFIG__ = {json.dumps(config)};\n", "application/javascript")
        if self.role == "engine" and path.startswith("/api/workflows/"):
            return self.answer(200, self.store.get, path.rsplit("/", 1)[1])
        if self.role == "engine" and path == "/api/workflows":
            return self.answer(200, self.store.all)
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.role != "engine" or urllib.parse.urlsplit(self.path).path != "/api/workflows":
            return self.reply(404, {"error": "not found"})
        if self.env.get("REFERENCE_FAULT") == "wrong-status":
            # Fault injection, for testing the testers: healthy, but breaks the API contract.
            return self.reply(200, {"status": "accepted"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            name = request["name"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "expected a JSON body with a name"})
        workflow = {"id": uuid.uuid4().hex, "name": name, "steps": request.get("steps", []), "status": "pending"}
        self.answer(201, self.store.add, workflow)

    def answer(self, status: int, operation, *args) -> None:
        """Reply with what the store gives: 404 for nothing, 503 while the database is away."""
        try:
            result = operation(*args)
        except DatabaseUnavailable as err:
            return self.reply(503, {"error": f"database {err}"})
        if result is None:
            return self.reply(404, {"error": "no such workflow"})
        self.reply(status, result)

    def health(self):
        status = {"role": self.role, "status": "ok"}
        if self.role == "engine" and "DATABASE_URL" in self.env:
            status["database"] = self.store.check()
            if status["database"] != "ok":
                status["status"] = "degraded"
                return self.reply(503, status)
        self.reply(200, status)


def handler_for(role: str, env: dict[str, str]) -> type[Handler]:
    return type("RoleHandler", (Handler,), {"role": role, "env": env, "store": store_from_env(env), "metrics": RequestMetrics()})


def exposition(handler: type[Handler]) -> str:
    """What GET /metrics answers: the requests the role answered, and for the engine the
    workflows it stores and whether its database answers (asked at each scrape)."""
    lines = handler.metrics.exposition()
    if handler.role == "engine":
        try:
            stored, up = handler.store.count(), 1
        except DatabaseUnavailable:
            stored, up = None, 0
        lines += gauge("maestro_engine_database_up", "1 when the engine's database answers, else 0.", up)
        if stored is not None:
            lines += gauge("maestro_engine_workflows_stored", "Workflows the engine's database holds.", stored)
    return "\n".join(lines) + "\n"


def serve_http(role: str, port: int, env: dict[str, str]) -> None:
    handler = handler_for(role, env)
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    serve_metrics(METRICS_PORT, lambda: exposition(handler))
    with http.server.ThreadingHTTPServer(("", port), handler) as server:
        print(f"{role} listening on :{port}", flush=True)
        server.serve_forever()


def healthcheck(role: str) -> int:
    """The image's own HEALTHCHECK: 0 when the role answers on its port."""
    port = ROLES[role]
    if port is None:
        return 0  # a task has no server to probe
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3):
            return 0
    except OSError:
        return 1


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    role = role_from_env(env)
    if argv[1:] == ["healthcheck"]:
        return healthcheck(role)
    if role == "quality-fabric-runner":
        from runner import run_from_env

        return run_from_env(env)
    serve_http(role, ROLES[role], env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
