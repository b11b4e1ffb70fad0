"""The event schema is defined once, documented in the README, and every emitted event fits it."""

import re

import pytest

from conftest import ROOT, trace_scenario
from server import catalog, events


def test_readme_documents_exactly_the_schema():
    """The README's event table is the one generated from server/events.py."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Event stream", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|")) + "\n"
    assert table == events.markdown_table()
    assert re.findall(r"^\| `([a-z.]+)` \|", table, flags=re.M) == list(events.KINDS)


@pytest.mark.parametrize("scenario_id", list(catalog.scenarios()))
def test_every_event_of_every_scenario_fits_the_schema(scenario_id):
    trace = trace_scenario(scenario_id)
    for event in trace:
        assert events.problems(event) == [], event
    assert [e["seq"] for e in trace] == list(range(len(trace)))
    assert trace[0]["kind"] == "run.start" and trace[-1]["kind"] == "run.end"
    times = [e["t"] for e in trace]
    assert times == sorted(times)


def test_problems_names_what_is_wrong():
    assert events.problems({"kind": "nope"}) == ["unknown kind 'nope'"]
    assert "missing field 'task'" in events.problems({"v": 1, "seq": 0, "t": 0, "kind": "task.done"})
    assert events.problems([]) == ["an event must be a JSON object"]


def test_the_page_mirrors_the_schema():
    text = (ROOT / "web" / "events.js").read_text()
    mirrored = dict(re.findall(r'^  "([a-z.]+)": \[(.*)\],$', text, flags=re.M))
    assert list(mirrored) == list(events.KINDS)
    for kind, (_, fields) in events.KINDS.items():
        assert re.findall(r'"([a-z_]+)"', mirrored[kind]) == [name.rstrip("?") for name in fields], kind
    assert f"export const VERSION = {events.VERSION};" in text


def test_lines_the_schema_does_not_know_become_raw_output():
    from types import SimpleNamespace

    from server.runner import Options, Program
    from server.stream import EventStream

    run = SimpleNamespace(count=0, program=Program("pass", "main.py", "main.py"), options=Options())
    stream = EventStream(run, pauses=False)
    out = stream._accept(b"not json at all")
    assert [e["kind"] for e in out] == ["run.start", "stdout"]
    assert out[1]["text"] == "not json at all\n" and out[1]["stream"] == "raw"
    out = stream._accept(b'[{"t": 0.5, "kind": "forged.kind"}, [0, 0.5, "x", false, "virtual", null, "f", 0.05]]')
    assert out[0]["text"] == "(an event the schema does not know)\n"
    assert [e["seq"] for e in out] == [2]  # a second run.start is dropped
