"""HTTP: the page, the scenario catalogue as JSON, and a health check."""

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
    settings = current_app.extensions["loopscope"]
    return jsonify(ok=True, sandbox=settings.describe(), runs=settings.pool.stats())


@bp.app_errorhandler(404)
def not_found(error):
    return jsonify(error="Not found."), 404


@bp.app_errorhandler(405)
def not_allowed(error):
    return jsonify(error="Method not allowed."), 405
