// The page's fold and its run messages, tested without a browser or a server (node --test).
// tests/test_page_logic.py runs this file with real traces made by the trace CLI, named in
// LOOPSCOPE_TRACES (a JSON object: scenario id -> path of a JSON-lines trace).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { createRuns } from "../../web/runs.js";
import { addEvents, createTrace, foldTo, initialState, iterationBoundary } from "../../web/state.js";

const TRACES = JSON.parse(process.env.LOOPSCOPE_TRACES || "{}");

function recorded(name) {
  const path = TRACES[name];
  assert.ok(path, `no trace named ${name} in LOOPSCOPE_TRACES`);
  const trace = createTrace({ scenario: name, blocking: false });
  addEvents(trace, readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line)));
  return trace;
}

test("the fold marks the trace ended when its run.end arrives", () => {
  const trace = createTrace();
  const events = readFileSync(TRACES.tasks, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  addEvents(trace, events.slice(0, -1));
  assert.equal(trace.ended, false);
  addEvents(trace, events.slice(-1));
  assert.equal(trace.ended, true);
});

test("before the first event the line says so, and says Run only when nothing is recorded", () => {
  assert.equal(foldTo(createTrace(), -1).narration, "Press Run to start.");
  const before = foldTo(recorded("tasks"), -1).narration;
  assert.match(before, /Before the first event/);
  assert.doesNotMatch(before, /Press Run/);
});

test("at the end of a run every task is done and the queues are empty", () => {
  const trace = recorded("tasks");
  const state = foldTo(trace, trace.events.length - 1);
  assert.equal(state.end.status, "ok");
  assert.deepEqual(state.ready, []);
  assert.deepEqual(state.timers, []);
  assert.equal(state.running, null);
  for (const task of Object.values(state.tasks)) assert.equal(task.state, "done", task.name);
  const printed = trace.events.filter((e) => e.kind === "stdout").map((e) => [e.text, e.task]);
  assert.deepEqual(state.output.map((o) => [o.text, o.task]), printed);
  assert.ok(printed.length > 0);
});

test("any position folds to the same state from scratch, from a checkpoint or from a nearby state", () => {
  const trace = recorded("stress");
  const last = trace.events.length - 1;
  foldTo(trace, last); // stores the checkpoints
  assert.ok(trace.checkpoints.length > 10);
  for (const index of [0, 999, 1000, 1001, 4321, Math.floor(last / 2), last]) {
    const fresh = structuredClone(initialState());
    const scratch = foldTo({ ...trace, checkpoints: [fresh] }, index);
    assert.deepEqual(foldTo(trace, index), scratch, `index ${index}`);
    assert.deepEqual(foldTo(trace, index, foldTo(trace, index - 25)), scratch, `index ${index} from nearby`);
  }
});

test("a checkpoint shares what did not change with the one before, and never changes as folding goes on", () => {
  const trace = recorded("stress");
  foldTo(trace, 3500);
  const kept = structuredClone(trace.checkpoints[2]);
  foldTo(trace, trace.events.length - 1, foldTo(trace, 2000)); // on from a state resumed at checkpoint 2
  foldTo(trace, 2500); // and again, from a fresh copy of it
  assert.deepEqual(trace.checkpoints[2], kept);
  // (a task may change and come back to how it was between two checkpoints: copied, yet equal)
  let [shared, differ] = [0, 0];
  trace.checkpoints.slice(1).forEach((two, i) => {
    const one = trace.checkpoints[i];
    for (const id of Object.keys(one.tasks)) {
      if (one.tasks[id] === two.tasks[id]) shared += 1;
      else if (JSON.stringify(one.tasks[id]) !== JSON.stringify(two.tasks[id])) differ += 1;
    }
  });
  assert.ok(shared > 0 && differ > 0, `${shared} tasks shared with the checkpoint before, ${differ} changed`);
});

test("while a timer waits it sits in the heap, ordered by due time; due, it moves to the ready queue", () => {
  const trace = recorded("tasks");
  const firstIdle = trace.events.findIndex((e) => e.kind === "loop.idle");
  const idle = foldTo(trace, firstIdle);
  const whens = idle.timers.map((id) => idle.handles[id].when);
  assert.ok(whens.length >= 2);
  assert.deepEqual(whens, [...whens].sort((a, b) => a - b));
  const due = trace.events.findIndex((e, i) => i > firstIdle && e.kind === "handle.schedule" && e.source === "timer");
  const after = foldTo(trace, due);
  assert.ok(after.ready.includes(trace.events[due].handle));
  assert.ok(!after.timers.includes(trace.events[due].handle));
});

test("a blocking callback shows as blocked from its begin, before its loop.blocked arrives", () => {
  const trace = recorded("tasks-blocking");
  const blocked = trace.events.find((e) => e.kind === "loop.blocked");
  const begin = trace.events.findIndex((e) => e.kind === "handle.begin" && e.handle === blocked.handle);
  const state = foldTo(trace, begin);
  assert.equal(state.running, blocked.handle);
  assert.equal(state.blocked.line, blocked.line);
  assert.equal(state.blocked.cause, "sleep");
});

test("iteration boundaries step between loop.iteration events", () => {
  const trace = recorded("tasks");
  const first = iterationBoundary(trace, -1, 1);
  assert.equal(trace.events[first].kind, "loop.iteration");
  const second = iterationBoundary(trace, first, 1);
  assert.ok(second > first && trace.events[second].kind === "loop.iteration");
  assert.equal(iterationBoundary(trace, second, -1), first);
});

test("an event of a kind the page does not know is a loud error", () => {
  const trace = createTrace();
  addEvents(trace, [{ v: 1, seq: 0, t: 0, kind: "no.such.kind" }]);
  assert.throws(() => foldTo(trace, 0), /unknown event kind no.such.kind/);
});

test("run messages: a forgotten run that finished before its stop came: the stop's 'nothing to stop' says nothing", () => {
  const seen = [];
  const runs = createRuns({ onStatus: (text, kind = "") => seen.push([text, kind]), onRunning: () => {},
    onEvents: () => {}, onFinished: () => {} });
  runs.handle({ type: "status", run: 1, state: "running" });
  assert.equal(runs.forget(), true); // (the page sends a stop)
  runs.handle({ type: "status", run: 1, state: "finished", status: "ok" }); // (it had ended by itself)
  runs.handle({ type: "error", message: "Nothing is running: there is no run to stop." });
  assert.deepEqual(seen, []);
  runs.handle({ type: "error", message: "The code is too large" }); // (any other error is said)
  assert.deepEqual(seen, [["The code is too large", "error"]]);
  runs.handle({ type: "status", run: 2, state: "running" });
  assert.equal(runs.forget(), true);
  runs.handle({ type: "status", run: 2, state: "finished", status: "stopped" }); // (the stop did it: no error follows)
  runs.handle({ type: "error", message: "Unknown scenario" });
  assert.deepEqual(seen.at(-1), ["Unknown scenario", "error"]);
});

test("run messages: a replaced run's tail is ignored, statuses and events reach their handlers", () => {
  const seen = [];
  const runs = createRuns({
    onStatus: (text, kind = "") => seen.push(["status", text, kind]),
    onRunning: (worker) => seen.push(worker ? ["running", worker] : ["running"]),
    onEvents: (events) => seen.push(["events", events.length]),
    onFinished: (status) => seen.push(["finished", status]),
  });
  runs.handle({ type: "status", run: 1, state: "running" });
  runs.handle({ type: "events", run: 1, events: [{}, {}] });
  runs.started(); // the page asks for a new run while run 1 still talks
  runs.handle({ type: "events", run: 1, events: [{}] });
  runs.handle({ type: "status", run: 1, state: "finished", status: "stopped" });
  runs.handle({ type: "status", run: 2, state: "queued", position: 3 });
  runs.handle({ type: "status", run: 2, state: "running", worker: "lab-1" }); // (distributed mode)
  runs.handle({ type: "status", run: 2, state: "finished", status: "ok" });
  runs.handle({ type: "error", message: "The server is busy." });
  assert.deepEqual(seen, [
    ["running"], ["events", 2],
    ["status", "Waiting for a free slot: position 3 in line…", ""], ["running", "lab-1"], ["finished", "ok"],
    ["status", "The server is busy.", "error"],
  ]);
  assert.equal(runs.current, 2);
  assert.throws(() => runs.handle({ type: "nonsense", run: 3 }), /unknown message type/);
});
