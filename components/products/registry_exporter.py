"""The registry's metrics: real pypiserver, run in-process with a Prometheus endpoint beside it.

pypiserver 2.3.2 serves no metrics. The registry unit runs this file (mounted read-only into its
container, on Docker and Kubernetes alike) instead of `pypi-server`, with pypiserver's own
arguments: it starts pypiserver's own `main` with those arguments, after wrapping the WSGI app
pypiserver builds, and serves on a port of its own (METRICS_PORT, the catalog's
`metrics.port`) what it can honestly count:

- `maestro_registry_packages`: the package files in the package directory (its last argument),
  listed by pypiserver's own code when Prometheus asks: what the volume holds, uploads and
  deletions included;
- `maestro_http_requests_total` by route, method and status: the requests pypiserver answered.

The standard library only, and no import of maestro_components: it runs with whatever Python
the registry's image has.
"""

from __future__ import annotations

import http.server
import sys
import threading
from pathlib import Path

METRICS_PORT = 9464  # the catalog's registry `metrics.port`: a test holds the two equal
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def packages_held(directory: Path) -> int:
    """The packages pypiserver itself lists from the directory (its own walk: subdirectories
    included, dot files and names that are no package left out)."""
    from pypiserver.backend import listdir

    return sum(1 for _ in listdir(directory))


class CountedApp:
    """A WSGI app that counts what the app it wraps answered, by the route it matched."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}

    def __call__(self, environ, start_response):
        status = ["500"]

        def start(line, headers, exc_info=None):
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            # Bottle leaves the route it matched in the environ: its rule, never a package name.
            route = getattr(environ.get("bottle.route"), "rule", None) or "unmatched"
            key = (route, environ.get("REQUEST_METHOD", ""), status[0])
            with self.lock:
                self.requests[key] = self.requests.get(key, 0) + 1

    def exposition(self, packages: int) -> str:
        with self.lock:
            requests = sorted(self.requests.items())
        lines = [
            "# HELP maestro_registry_packages Package files the registry holds.",
            "# TYPE maestro_registry_packages gauge",
            f"maestro_registry_packages {packages}",
            "# HELP maestro_http_requests_total HTTP requests answered, by route, method and status.",
            "# TYPE maestro_http_requests_total counter",
        ]
        for (route, method, status), count in requests:
            route = route.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'maestro_http_requests_total{{route="{route}",method="{method}",status="{status}"}} {count}')
        return "\n".join(lines) + "\n"


def serve_metrics(counted: CountedApp, directory: Path, port: int = METRICS_PORT) -> http.server.ThreadingHTTPServer:
    """GET /metrics on its own port, from a daemon thread."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body = counted.exposition(packages_held(directory)).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # Prometheus asks every few seconds: not worth a log line
            pass

    server = http.server.ThreadingHTTPServer(("", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> None:
    import pypiserver
    from pypiserver.__main__ import main as pypiserver_main

    directory = Path(argv[-1])  # pypiserver's `run ... PACKAGES_DIRECTORY`
    build_routes = pypiserver.setup_routes_from_config
    counted: list[CountedApp] = []

    def counted_routes(app, config):
        # pypiserver's main hands what this returns to bottle.run, which serves any WSGI app.
        counted.append(CountedApp(build_routes(app, config)))
        serve_metrics(counted[0], directory)
        return counted[0]

    pypiserver.setup_routes_from_config = counted_routes
    pypiserver_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
