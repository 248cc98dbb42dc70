"""The reference image: one small program that stands in for every Maestro product.

In the spirit of podinfo, its only job is to prove that a deployment works: that
each unit starts, answers its health check, and is wired to the others by the
URLs and secrets the stack gives it. Python's standard library only, so that it
builds with no registry.

The role comes from MAESTRO_ROLE; without it, from the variable that the
wiring gives each unit (see ROLE_BY_WIRED_ENV). Each role listens on the port
the product catalog gives that unit (tests keep ROLES and the catalog equal).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import sys
import threading
import urllib.parse
import urllib.request
import uuid

# role -> port it listens on (config/catalog.yaml's ports)
ROLES = {
    "engine": 8000,
    "database": 5432,
    "frontend": 8080,
    "hive": 8080,
    "quality-fabric-api": 8080,
    "quality-fabric-ui": 8090,
    "quality-fabric-runner": None,  # a task: runs the suites and exits
    "ml-platform": 8000,
    "registry": 8081,
}
# The first of these set in the environment names the role (checked in this order).
ROLE_BY_WIRED_ENV = [
    ("QF_RESULTS_DIR", "quality-fabric-runner"),
    ("QF_TEST_CONFIG", "quality-fabric-api"),
    ("QF_API_URL", "quality-fabric-ui"),
    ("VITE_MAESTRO_API_BASE", "frontend"),
    ("POSTGRES_PASSWORD_FILE", "database"),
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


# --- the database stand-in: a line protocol that checks the generated password ---

def database_password(env: dict[str, str]) -> str:
    with open(env["POSTGRES_PASSWORD_FILE"], encoding="utf-8") as f:
        return f.read().strip()


def check_database(url: str, timeout: float = 3.0) -> str:
    """'ok' when the database at `url` accepts the password in it, else why not."""
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 5432), timeout=timeout) as conn:
            conn.sendall(f"auth {urllib.parse.unquote(parsed.password or '')}\n".encode())
            answer = conn.makefile().readline().strip()
    except OSError as err:
        return f"unreachable: {err}"
    return "ok" if answer == "ok" else f"refused: {answer}"


def serve_database(port: int, env: dict[str, str]) -> None:
    password = database_password(env)  # fails at start if the secret file is not delivered

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline().decode(errors="replace").strip()
            if line == "ping":
                self.wfile.write(b"pong\n")
            elif line == f"auth {password}":
                self.wfile.write(b"ok\n")
            else:
                self.wfile.write(b"password authentication failed\n")

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("", port), Handler) as server:
        server.serve_forever()


# --- HTTP roles ---

FRONTEND_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Maestro</title>
<script src="/config.js"></script></head>
<body><h1>Maestro</h1><p>Reference frontend.</p></body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    role = "engine"
    env: dict[str, str] = {}
    workflows: dict[str, dict] = {}
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # one line per request, on stdout
        sys.stdout.write(f"{self.role} {self.address_string()} {fmt % args}\n")

    def reply(self, status: int, body, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.role == "engine":
            # A browser on a frontend's origin calls this API directly: the allowed
            # origins (MAESTRO_CORS_ORIGINS), or any when none are configured.
            allowed = [o for o in self.env.get("MAESTRO_CORS_ORIGINS", "").split(",") if o]
            origin = self.headers.get("Origin")
            if not allowed:
                self.send_header("Access-Control-Allow-Origin", "*")
            elif origin in allowed:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/health":
            return self.health()
        if self.role == "frontend" and path in ("/", "/index.html"):
            return self.reply(200, FRONTEND_PAGE, "text/html; charset=utf-8")
        if self.role == "frontend" and path == "/config.js":
            config = {"VITE_MAESTRO_API_BASE": self.env.get("VITE_MAESTRO_API_BASE", "")}
            return self.reply(200, f"window.__MAESTRO_CONFIG__ = {json.dumps(config)};\n", "application/javascript")
        if self.role == "engine" and path.startswith("/api/workflows/"):
            with self.lock:
                workflow = self.workflows.get(path.rsplit("/", 1)[1])
            return self.reply(200, workflow) if workflow else self.reply(404, {"error": "no such workflow"})
        if self.role == "engine" and path == "/api/workflows":
            with self.lock:
                return self.reply(200, list(self.workflows.values()))
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
        with self.lock:
            self.workflows[workflow["id"]] = workflow
        self.reply(201, workflow)

    def health(self):
        status = {"role": self.role, "status": "ok"}
        if self.role == "engine" and "DATABASE_URL" in self.env:
            status["database"] = check_database(self.env["DATABASE_URL"])
            if status["database"] != "ok":
                status["status"] = "degraded"
                return self.reply(503, status)
        self.reply(200, status)


def serve_http(role: str, port: int, env: dict[str, str]) -> None:
    handler = type("RoleHandler", (Handler,), {"role": role, "env": env, "workflows": {}})
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    with http.server.ThreadingHTTPServer(("", port), handler) as server:
        print(f"{role} listening on :{port}", flush=True)
        server.serve_forever()


def healthcheck(role: str) -> int:
    """The image's own HEALTHCHECK: 0 when the role answers on its port."""
    port = ROLES[role]
    if port is None:
        return 0  # a task has no server to probe
    try:
        if role == "database":
            with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
                conn.sendall(b"ping\n")
                return 0 if conn.makefile().readline().strip() == "pong" else 1
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
    if role == "database":
        serve_database(ROLES[role], env)
    else:
        serve_http(role, ROLES[role], env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
