"""The client's address behind a reverse proxy, trusted only from the proxies we were told about."""
from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxyFix:
    """Werkzeug's ProxyFix, applied only to requests whose peer is one of the configured proxies.

    ``DASHBOARD_TRUSTED_PROXIES`` lists their addresses or networks. A request from anywhere else
    keeps its own peer address, whatever X-Forwarded-For it carries, so a client that reaches the
    app directly cannot pretend to be someone else (or make everyone share one address).
    """

    def __init__(self, app, proxies: tuple[str, ...]):
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def _trusted(self, peer: str) -> bool:
        try:
            addr = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self._trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
