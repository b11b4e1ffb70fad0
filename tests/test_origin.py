"""Only the server's own pages (and origins the operator allows) open /ws; with --trust-code only loopback Hosts."""

import base64
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from server import origin
from servers import LiveServer

EVIL = "http://evil.example"


def handshake(port, origin_=None, host=None, path="/ws"):
    """(HTTP status, body) of a real WebSocket opening handshake, sent byte by byte as a browser would
    (`host` False: with no Host header at all)."""
    host = f"127.0.0.1:{port}" if host is None else host
    lines = [f"GET {path} HTTP/1.1", *([f"Host: {host}"] if host is not False else []), "Upgrade: websocket",
             "Connection: Upgrade",
             f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13"]
    if origin_ is not None:
        lines.append(f"Origin: {origin_}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        if status != 101:
            connection.settimeout(2)
            try:
                while chunk := connection.recv(4096):
                    body += chunk
            except TimeoutError:
                pass
        return status, body.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server():
    live = LiveServer("--allow-origin", "https://course.example.org")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def trusting_server():
    live = LiveServer("--trust-code")
    yield live
    live.stop()


def test_the_servers_own_page_may_open_the_socket(server):
    assert handshake(server.port, f"http://127.0.0.1:{server.port}")[0] == 101


def test_a_client_that_is_no_web_page_sends_no_origin_and_may_connect(server):
    assert handshake(server.port)[0] == 101


def test_another_sites_page_is_refused_before_any_run(server):
    status, body = handshake(server.port, EVIL)
    assert status == 403
    assert "Pages from http://evil.example may not use this server" in body
    assert "--allow-origin" in body
    assert server.get("/api/health")[1]["runs"]["running"] == 0


def test_another_port_or_name_for_the_same_machine_is_another_origin(server):
    assert handshake(server.port, f"http://localhost:{server.port}")[0] == 403
    assert handshake(server.port, "http://127.0.0.1:1")[0] == 403
    assert handshake(server.port, "null")[0] == 403  # a sandboxed frame or a file:// page


def test_an_allowed_origin_may_open_the_socket(server):
    assert handshake(server.port, "https://course.example.org")[0] == 101
    assert handshake(server.port, "https://course.example.org:443")[0] == 101
    assert handshake(server.port, "http://course.example.org")[0] == 403


def test_with_trust_code_cross_origin_is_refused_and_same_origin_accepted(trusting_server):
    port = trusting_server.port
    assert handshake(port, f"http://127.0.0.1:{port}")[0] == 101
    assert handshake(port, EVIL)[0] == 403


def test_with_trust_code_a_rebound_name_is_refused_even_from_its_own_page(trusting_server):
    port = trusting_server.port
    rebound = f"rebind.example:{port}"  # an attacker's name that resolves to 127.0.0.1
    status, body = handshake(port, f"http://{rebound}", host=rebound)
    assert status == 403 and "only on a loopback address" in body
    assert handshake(port, host=rebound, path="/api/health")[0] == 403
    assert handshake(port, f"http://localhost:{port}", host=f"localhost:{port}")[0] == 101


def test_without_trust_code_a_page_served_under_any_name_is_its_own_origin(server):
    name = f"loopscope.example:{server.port}"  # e.g. a reverse proxy's name: the sandbox contains the code
    assert handshake(server.port, f"http://{name}", host=name)[0] == 101


def test_trust_code_listens_on_loopback_only():
    done = subprocess.run([sys.executable, "-m", "server", "--trust-code", "--host", "0.0.0.0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--trust-code listens on loopback only" in done.stderr


def test_help_shows_the_origin_option():
    done = subprocess.run([sys.executable, "-m", "server", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert "--allow-origin URL" in done.stdout and "--trust-code" in done.stdout


@pytest.mark.parametrize("given,expected", [
    ("https://Course.Example.org", "https://course.example.org:443"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
    ("ws://localhost", "http://localhost:80"),
    ("http://[::1]:8000", "http://[::1]:8000"),
])
def test_origins_are_compared_in_one_form(given, expected):
    assert origin.normalise(given) == expected


@pytest.mark.parametrize("bad", ["course.example.org", "https://example.org/page", "ftp://example.org", ""])
def test_an_allowed_origin_must_be_an_origin(bad):
    with pytest.raises(origin.BadOrigin):
        origin.normalise(bad)


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1:5000", True), ("localhost", True), ("[::1]:5000", True), ("127.8.9.10", True),
    ("rebind.example:5000", False), ("10.0.0.1:5000", False), ("localhost.evil.example", False),
])
def test_only_loopback_names_and_addresses_count_as_loopback_hosts(host, loopback):
    assert origin.is_loopback_host(host) is loopback


def test_a_host_that_is_no_host_is_refused_not_an_error(server, trusting_server):
    assert handshake(server.port, EVIL, host="a:b")[0] == 403
    assert handshake(server.port, EVIL, host="")[0] == 403
    for live in (server, trusting_server):
        assert handshake(live.port, host=False)[0] == 403
        assert handshake(live.port, host=False, path="/api/health")[0] == 403


def test_an_origin_that_is_not_even_a_url_is_refused_not_an_error(server):
    assert handshake(server.port, "http://[")[0] == 403
