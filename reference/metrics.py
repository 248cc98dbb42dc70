"""Prometheus text exposition (format 0.0.4) for the reference roles, with the standard library
only: request counts and latency histograms by route and status, plus what a role adds (the
engine: the workflows it stores and whether its database answers).

Served on a port of its own (the catalog's `metrics.port`), so that a network rule can let the
cluster's Prometheus reach the metrics and nothing else.
"""

from __future__ import annotations

import http.server
import threading
from typing import Callable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; Prometheus's client libraries' default buckets.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def escape(value: str) -> str:
    """A label value as the text format writes it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs.items()) + "}" if pairs else ""


def number(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value)) if isinstance(value, float) else str(value)


class RequestMetrics:
    """Counts and latencies of the HTTP requests a role answered, by route, method and status."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (route, method, status) -> [count, sum of seconds, count per bucket]
        self.series: dict[tuple[str, str, str], list] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        with self.lock:
            entry = self.series.setdefault(key, [0, 0.0, [0] * len(BUCKETS)])
            entry[0] += 1
            entry[1] += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    entry[2][i] += 1

    def exposition(self) -> list[str]:
        with self.lock:
            series = {k: (v[0], v[1], list(v[2])) for k, v in sorted(self.series.items())}
        lines = [
            "# HELP maestro_http_requests_total HTTP requests answered, by route, method and status.",
            "# TYPE maestro_http_requests_total counter",
        ]
        for (route, method, status), (count, _, _) in series.items():
            lines.append(f"maestro_http_requests_total{labels({'route': route, 'method': method, 'status': status})} {count}")
        lines += [
            "# HELP maestro_http_request_duration_seconds Time to answer an HTTP request, by route, method and status.",
            "# TYPE maestro_http_request_duration_seconds histogram",
        ]
        for (route, method, status), (count, total, buckets) in series.items():
            base = {"route": route, "method": method, "status": status}
            for bound, within in zip(BUCKETS, buckets):
                lines.append(f"maestro_http_request_duration_seconds_bucket{labels({**base, 'le': number(bound)})} {within}")
            lines.append(f"maestro_http_request_duration_seconds_bucket{labels({**base, 'le': '+Inf'})} {count}")
            lines.append(f"maestro_http_request_duration_seconds_sum{labels(base)} {number(total)}")
            lines.append(f"maestro_http_request_duration_seconds_count{labels(base)} {count}")
        return lines


def gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {number(value)}"]


def serve_metrics(port: int, render: Callable[[], str], host: str = "") -> http.server.ThreadingHTTPServer:
    """A server of its own for GET /metrics, answering from a daemon thread."""

    class MetricsHandler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # scraped every few seconds: not worth a log line each
            pass

        def do_GET(self):
            if self.path.split("?", 1)[0] != "/metrics":
                body, status, content_type = b"not found\n", 404, "text/plain"
            else:
                body, status, content_type = render().encode(), 200, CONTENT_TYPE
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((host, port), MetricsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
