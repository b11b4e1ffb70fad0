"""Production on one machine: gunicorn with deploy/gunicorn.conf.py serves the page and the socket,
answers the balancer's health and readiness checks, logs each run as JSON and stops its runs on
SIGTERM; the systemd unit starts exactly that."""

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, child_processes
from server.app import create_app
from servers import Client, free_port, wait_until

GUNICORN = Path(sys.executable).with_name("gunicorn")
SILENT = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(1)\n"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None, None


@pytest.fixture
def gunicorn():
    port = free_port()
    process = subprocess.Popen([str(GUNICORN), "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "LOOPSCOPE_BIND": f"127.0.0.1:{port}", "LOOPSCOPE_SOCKETS": "8",
                                    "GUNICORN_CMD_ARGS": "--graceful-timeout 2"})  # (10 in the file)
    log = []
    reader = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: get(url + "/api/ready")[0] == 200 or process.poll() is not None, 30), "".join(log)
    assert process.poll() is None, "".join(log)
    yield process, port, url, log, reader
    if process.poll() is None:
        process.kill()
        process.wait()


def test_gunicorn_with_the_repos_config_serves_runs_checks_and_stops_its_runs_on_sigterm(gunicorn, no_leftovers):
    process, port, url, log, reader = gunicorn
    status, health = get(url + "/api/health")
    assert status == 200 and health["ok"]
    status, ready = get(url + "/api/ready")
    assert status == 200 and ready["ready"] is True and ready["runs"]["max_running"] >= 1
    with urllib.request.urlopen(url + "/", timeout=5) as page:
        assert b"Loopscope" in page.read()
    client = Client(f"ws://127.0.0.1:{port}/ws")
    events, _ = client.run(scenario="sequential")
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"
    client.send({"op": "run", "code": SILENT, "clock": "real"})
    client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
    assert child_processes()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not child_processes()  # the running one was stopped on the way out
    reader.join(10)  # (its log, read to the end)
    runs = [json.loads(line.split("loopscope run ", 1)[1]) for line in "".join(log).splitlines() if "loopscope run " in line]
    assert [r["target"] for r in runs] == ["sequential", "own code"]
    assert runs[0]["status"] == "ok" and runs[0]["client"] == "127.0.0.1" and runs[1]["status"] == "stopped"


def test_readiness_is_503_with_the_reason_when_no_run_can_be_taken():
    app = create_app({"MAX_RUNS": 1, "MAX_QUEUED": 0})
    client = app.test_client()
    assert client.get("/api/ready").status_code == 200
    pool = app.extensions["loopscope"].pool
    pool._running.add(object())  # (one run slot taken and no queue: the next run would be refused)
    busy = client.get("/api/ready")
    assert busy.status_code == 503 and busy.json["ready"] is False and busy.json["reason"].startswith("busy")
    assert client.get("/api/health").status_code == 200  # alive all the same: not a reason to restart it
    pool._running.clear()
    pool.shutdown()
    closing = client.get("/api/ready")
    assert closing.status_code == 503 and closing.json["reason"] == "shutting down"


def test_the_systemd_unit_starts_gunicorn_with_the_repos_config():
    unit = (ROOT / "deploy" / "loopscope.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert start.endswith("/.venv/bin/gunicorn -c deploy/gunicorn.conf.py")
    assert "Delegate=yes" in unit and "WorkingDirectory=" in unit
