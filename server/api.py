"""HTTP: the page, the scenario catalogue as JSON, and the checks a load balancer makes: health
(the process answers) and readiness (it takes runs now)."""

from pathlib import Path

from flask import Blueprint, current_app, jsonify, send_from_directory

from . import catalog

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

bp = Blueprint("api", __name__)


@bp.get("/")
def index():
    return send_from_directory(WEB_DIR, "index.html")


@bp.get("/api/scenarios")
def scenarios():
    return jsonify([scenario.as_json() for scenario in catalog.scenarios().values()])


@bp.get("/api/scenarios/<scenario_id>")
def scenario(scenario_id):
    try:
        return jsonify(catalog.get(scenario_id).as_json())
    except catalog.UnknownScenario:
        return jsonify(error=f"Unknown scenario {scenario_id!r}."), 404


@bp.get("/api/health")
def health():
    """Liveness: the process serves (also while busy: a balancer must not restart it for that)."""
    settings = current_app.extensions["loopscope"]
    spares = settings.spares
    return jsonify(ok=True, sandbox=settings.describe(), runs=settings.pool.stats(),
                   spares={"size": spares.size, "ready": spares.ready(), "pids": spares.pids()})


@bp.get("/api/ready")
def ready():
    """Readiness: 200 while a new run would be taken (started or queued), else 503 with why, so
    that a balancer sends new pages elsewhere: shutting down, every slot and the queue full, or (in
    distributed mode) no worker or no Redis."""
    settings = current_app.extensions["loopscope"]
    runs = settings.pool.stats()
    # (without the full sandbox scenarios still run: only own code is refused, and says so)
    reason = settings.pool.readiness()
    body = {"ready": reason is None, "runs": runs, "own_code": settings.own_code_allowed}
    if reason:
        body["reason"] = reason
    return jsonify(body), 200 if reason is None else 503


@bp.app_errorhandler(404)
def not_found(error):
    return jsonify(error="Not found."), 404


@bp.app_errorhandler(405)
def not_allowed(error):
    return jsonify(error="Method not allowed."), 405
