// The loop picture's phases and the ready queue's iteration boundary, folded from real traces
// (node --test; tests/test_page_logic.py names the traces in LOOPSCOPE_TRACES).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { addEvents, createTrace, foldTo } from "../../web/state.js";

const TRACES = JSON.parse(process.env.LOOPSCOPE_TRACES || "{}");

function recorded(name) {
  const trace = createTrace({ scenario: name, blocking: false });
  addEvents(trace, readFileSync(TRACES[name], "utf8").trim().split("\n").map((line) => JSON.parse(line)));
  return trace;
}

// The fold, one event at a time: [state before event i, event i] for every event. The state is
// advanced in place once the loop's body is done with it (a copy per event of the 1,000-task
// stress run took minutes): read it, do not keep it.
function* walk(trace) {
  let state = foldTo(trace, -1);
  for (let i = 0; i < trace.events.length; i += 1) {
    yield [state, trace.events[i]];
    state = foldTo(trace, i, state);
  }
}

test("every callback that begins was counted among its iteration's, never among the next's", () => {
  let checked = 0; // (a run whose every iteration runs one callback has none to check)
  for (const name of Object.keys(TRACES)) {
    for (const [before, event] of walk(recorded(name))) {
      if (event.kind !== "handle.begin" || before.phase !== "ready") continue;
      const at = before.ready.indexOf(event.handle);
      assert.ok(at >= 0 && at < before.nextFrom, `${name}: handle ${event.handle} began from place ${at} of ${before.nextFrom}`);
      checked += 1;
    }
  }
  assert.ok(checked > 100, `only ${checked} callbacks began after another in their iteration`);
});

test("a callback queued while a callback runs waits for the next iteration", () => {
  const trace = recorded("tasks");
  const events = trace.events;
  // the first step queued from inside a running callback (the main task creating a task)
  const queued = events.findIndex((e, i) => e.kind === "handle.schedule" && e.queue === "ready"
    && events.slice(0, i).some((b) => b.kind === "handle.begin"));
  const during = foldTo(trace, queued);
  assert.equal(during.phase, "ready");
  assert.equal(during.ready.indexOf(events[queued].handle) >= during.nextFrom, true);
  const next = events.findIndex((e, i) => i > queued && e.kind === "loop.iteration");
  const after = foldTo(trace, next);
  assert.equal(after.phase, "io");
  assert.equal(after.nextFrom, null); // every handle in the queue now runs in this iteration
  assert.ok(after.ready.includes(events[queued].handle));
});

test("the phases follow _run_once: wait for I/O, due timers, then the ready callbacks", () => {
  const trace = recorded("tasks");
  const seen = [];
  for (const [before, event] of walk(trace)) {
    if (event.kind === "loop.idle") seen.push("idle");
    if (event.kind === "handle.schedule" && event.source === "timer") seen.push(before.phase === "timers" ? "timers" : "io→timers");
    if (event.kind === "handle.begin") seen.push(`ready after ${before.phase}`);
  }
  assert.ok(seen.includes("io→timers"));
  assert.ok(seen.includes("ready after timers"));
  assert.ok(seen.includes("ready after io"));
  assert.equal(foldTo(trace, trace.events.length - 1).phase, null);
});
