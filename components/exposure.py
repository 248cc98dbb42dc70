"""How browsers reach a stack's public units, on each platform: plain data, no Pulumi, so that
checking a stack file can say where its units will answer without importing a platform's SDK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# The TLS Secret a stack makes of the certificate and key it is given.
OWN_TLS_SECRET = "maestro-tls"


@dataclass(frozen=True)
class Exposure:
    """How browsers reach the units that have a public host."""

    domain: Optional[str] = None
    ingress_class: Optional[str] = None
    tls_secret: Optional[str] = None  # an existing TLS Secret
    cluster_issuer: Optional[str] = None  # or a cert-manager ClusterIssuer that issues one
    ingress_namespace: Optional[str] = None  # where the ingress controller runs

    @property
    def scheme(self) -> str:
        return "https" if self.tls_secret or self.cluster_issuer else "http"

    def public_url(self, public_host: str, port: int) -> Optional[str]:
        """Where browsers reach a unit with this public host: its Ingress host, on the default port."""
        return f"{self.scheme}://{public_host}.{self.domain}" if self.domain else None


@dataclass(frozen=True)
class DockerExposure:
    """How browsers reach the units that have a public host."""

    domain: str = "localhost"
    bind_address: str = "127.0.0.1"
    publish: bool = True

    @property
    def on_loopback(self) -> bool:
        """Published on this machine under the name every /etc/hosts has: `http://localhost:<port>`,
        which pip, Python, curl and browsers all resolve (`*.localhost` names need a resolver
        that knows RFC 6761, and stock Debian's does not)."""
        return self.publish and self.domain == "localhost"

    def public_url(self, public_host: str, port: int) -> str:
        """On loopback, each unit on its own port of localhost. Under another domain (or unpublished),
        `<host>.<domain>`, which is also a network alias, so the URL works inside the stack's network."""
        if self.on_loopback:
            return f"http://localhost:{port}"
        return f"http://{public_host}.{self.domain}:{port}"
