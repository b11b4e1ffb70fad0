// The narration's sentences (web/narrate.js), folded from events as the server sends them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { addEvents, createTrace, foldTo } from "../../web/state.js";

const at = (t, kind, fields) => ({ v: 1, seq: 0, t, kind, ...fields });

test("a cancel names the task as the program named it, in its own case", () => {
  const trace = createTrace({ scenario: null, blocking: false });
  addEvents(trace, [
    at(0, "run.start", { target: "main.py", blocking: false, clock: "virtual", python: "3.11.7", file: "main.py", threshold: 0.05 }),
    at(0, "task.new", { task: 1, name: "Main", coro: "main", parent: null, line: 9, internal: false }),
    at(0, "task.new", { task: 2, name: "Fetch-A", coro: "fetch", parent: 1, line: 10, internal: false }),
    at(0, "task.cancel", { task: 2, by: 1, msg: null }),
  ].map((e, seq) => ({ ...e, seq })));
  assert.equal(foldTo(trace, 3).narration,
    "Task `Main` asks task `Fetch-A` to cancel: it will get a CancelledError at its next await.");
});

test("a callback said in plain words is quoted, so the sentence reads it as the callback's name", () => {
  const trace = createTrace({ scenario: null, blocking: false });
  addEvents(trace, [
    at(0, "run.start", { target: "main.py", blocking: false, clock: "virtual", python: "3.11.7", file: "main.py", threshold: 0.05 }),
    at(0, "handle.schedule", { handle: 5, queue: "ready", when: null, task: null, label: "Timeout._on_timeout", source: "call_soon", owner: null }),
    at(0, "handle.begin", { handle: 5, task: null }),
  ].map((e, seq) => ({ ...e, seq })));
  assert.equal(foldTo(trace, 2).narration, "The loop runs “the timeout runs out”; nothing else can run until it returns.");
});
