"""Who may drive the server: only its own pages (and origins the operator names) open `/ws`.

A browser lets any web page open a WebSocket to any address, the learner's own
`127.0.0.1:5000` included, and says which page asked in the `Origin` header. So the
handshake is refused (HTTP 403, before any run) unless that origin is the server's own
(scheme, host and port as the browser sees them: the `Host` it sent) or one given with
`--allow-origin`. A client that sends no `Origin` is not a web page (browsers always
send it), e.g. a script using the protocol, and is let in.

With `--trust-code` a run may be code the sandbox cannot contain, so the server also
answers only requests whose `Host` is a loopback name: a DNS-rebinding page (a name of
the attacker's that points at 127.0.0.1) is then refused too.
"""

import ipaddress
from urllib.parse import urlsplit

from flask import jsonify, request

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_WEB_SCHEMES = {"ws": "http", "wss": "https"}


class BadOrigin(ValueError):
    """An `--allow-origin` value that is not an origin."""


def normalise(origin):
    """`scheme://host:port` with the default port filled in and the host lower-case."""
    try:
        parts = urlsplit(origin.strip())
        scheme = _WEB_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
        host = parts.hostname
    except ValueError:  # e.g. "http://[": not even a URL
        raise BadOrigin(f"{origin!r} is not an origin") from None
    if scheme not in ("http", "https") or not host or parts.path not in ("", "/") or parts.query:
        raise BadOrigin(f"{origin!r} is not an origin: give scheme, host and port only, e.g. https://example.org")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise BadOrigin(f"{origin!r} has a port that is not a number") from None
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


def is_loopback_host(host):
    """`host` (a Host header: name, optional port) names this machine's loopback."""
    try:
        name = urlsplit("//" + host).hostname or ""
    except ValueError:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _own_origin():
    return normalise(f"{request.scheme}://{request.host}")


def init_app(app, allowed, loopback_only):
    """Refuse cross-origin handshakes on `/ws`; with `loopback_only`, any non-loopback Host."""
    allowed = {normalise(origin) for origin in allowed}

    @app.before_request
    def check():
        if not request.headers.get("Host"):  # HTTP/1.1 needs one; without it nothing can be compared
            return _refuse("A request must name the host it is for (a Host header).")
        if loopback_only and not is_loopback_host(request.host):
            return _refuse(f"This server trusts the code it runs, so it answers only on a loopback address "
                           f"(127.0.0.1 or localhost), not {request.host!r}.")
        if request.endpoint != "ws.websocket":
            return None
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        try:
            seen = normalise(origin)
        except BadOrigin:
            seen = origin
        try:
            own = _own_origin()
        except BadOrigin:  # no Host, or one that is no host: nothing can be the same origin
            own = None
        if seen == own or seen in allowed:
            return None
        return _refuse(f"Pages from {origin} may not use this server (start it with --allow-origin {origin} "
                       "to allow them).")


def _refuse(message):
    response = jsonify({"error": message})
    response.status_code = 403
    return response
