// The coach (web/coach.js): trace events -> messages at their lines, tested without a browser.
// tests/test_coach.py runs this file; LOOPSCOPE_TRACES names real traces of tests/coach_programs/
// (a JSON object: program name -> path of a JSON-lines trace made by the trace CLI's runner).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { coachOf, initialCoach, note, saidAt } from "../../web/coach.js";
import { addEvents, createTrace, foldTo } from "../../web/state.js";

const TRACES = JSON.parse(process.env.LOOPSCOPE_TRACES || "{}");

function recorded(name) {
  assert.ok(TRACES[name], `no trace named ${name} in LOOPSCOPE_TRACES`);
  return readFileSync(TRACES[name], "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

// Events with seq numbers, from [kind, fields] pairs.
function events(...pairs) {
  return pairs.map(([kind, fields], seq) => ({ v: 1, seq, t: 0, kind, ...fields }));
}

const where = (messages) => messages.map((m) => [m.kind, m.line]);
const blocked = (handle, line, cause, call = null, duration = 0.3) => ["loop.blocked", { duration, task: 2, line, handle, cause, call }];
const stalled = (handle, line, running, cause = "cpu") => ["loop.stalled", { handle, task: 2, line, running, cause, call: null }];

test("a coroutine never awaited is one message at each line that made one", () => {
  const messages = coachOf(events(["coroutine.unawaited", { coro: "fetch", line: 10 }],
    ["coroutine.unawaited", { coro: "fetch", line: 11 }], ["coroutine.unawaited", { coro: "fetch", line: 10 }]));
  assert.deepEqual(where(messages), [["unawaited", 10], ["unawaited", 11]]);
  assert.equal(messages[0].count, 2);
  assert.match(messages[0].title, /`fetch\(\)` was never awaited/);
  assert.match(messages[0].advice, /`await fetch\(\.\.\.\)`/);
});

test("a task exception never retrieved is told at the line that raised it, else where the task was made", () => {
  const raised = coachOf(events(["task.new", { task: 2, name: "worker", coro: "fail", parent: 1, line: 10, internal: false }],
    ["task.done", { task: 2, state: "exception", detail: "ValueError: no", line: 6 }],
    ["loop.exception", { message: "Task exception was never retrieved", task: 2, exception: "ValueError: no" }]));
  assert.deepEqual(where(raised), [["unretrieved", 6]]);
  assert.match(raised[0].title, /`worker` raised `ValueError: no`/);
  assert.match(raised[0].advice, /await/);
  const made = coachOf(events(["task.new", { task: 2, name: "w", coro: "f", parent: 1, line: 10, internal: false }],
    ["loop.exception", { message: "Task exception was never retrieved", task: 2, exception: "E" }]));
  assert.deepEqual(where(made), [["unretrieved", 10]]);
  const other = coachOf(events(["loop.exception", { message: "Exception in callback boom()", task: null, exception: "E" }]));
  assert.deepEqual(other, []);
});

test("each way of blocking the loop gets its own kind and what to use instead", () => {
  const messages = coachOf(events(blocked(1, 9, "sleep", "time.sleep"), blocked(2, 15, "cpu"),
    blocked(3, 19, "wait", "threading.Event.wait"), blocked(4, 24, "wait", "queue.Queue.get"), blocked(5, 33, "wait")));
  assert.deepEqual(where(messages), [["blocking-sleep", 9], ["blocking-cpu", 15], ["blocking-wait", 19],
    ["blocking-wait", 24], ["blocking-wait", 33]]);
  const advice = messages.map((m) => m.advice);
  assert.match(advice[0], /await asyncio\.sleep/);
  assert.match(advice[1], /asyncio\.to_thread/);
  assert.match(advice[2], /asyncio\.Event/);
  assert.match(advice[3], /asyncio\.Queue/);
  assert.match(advice[4], /asyncio\.to_thread/);
  assert.match(messages[2].title, /`threading\.Event\.wait\(\)` held the loop for 0\.3 s/);
});

test("blocking again at the same line counts in one message", () => {
  const [message, ...others] = coachOf(events(blocked(1, 9, "sleep", "time.sleep", 0.2), blocked(2, 9, "sleep", "time.sleep", 0.3)));
  assert.deepEqual(others, []);
  assert.equal(message.count, 2);
  assert.match(message.title, /for 0\.5 s in all, 2 times/);
});

test("a task nobody keeps is told at its line, from the program's hint", () => {
  const messages = coachOf(events(["program.hint", { hint: "dropped_task", line: 10, text: "asyncio.create_task(work())" }]));
  assert.deepEqual(where(messages), [["dropped-task", 10]]);
  assert.match(messages[0].title, /asyncio\.create_task\(work\(\)\)/);
  assert.match(messages[0].advice, /weak reference/);
});

test("a callback that holds the loop is told while it lasts, then as what it turned out to be", () => {
  const state = { coach: initialCoach() }; // (note takes a fold's state: it copies the coach where it changes)
  const trace = events(stalled(7, 6, 0.1), stalled(7, 7, 0.35), blocked(7, 7, "cpu", null, 0.5));
  note(state, trace[0]);
  assert.deepEqual(where(state.coach.messages), [["endless", 6]]);
  assert.equal(state.coach.messages[0].live, 7);
  note(state, trace[1]); // its line moved: one message still
  assert.deepEqual(where(state.coach.messages), [["endless", 7]]);
  assert.match(state.coach.messages[0].title, /never gives the loop back held it for 0\.35 s so far/);
  assert.equal(saidAt(state.coach, 1), state.coach.messages[0]);
  note(state, trace[2]); // it returned: it was computing, not endless
  assert.deepEqual(where(state.coach.messages), [["blocking-cpu", 7]]);
  assert.equal(state.coach.messages[0].live, null);
});

test("a callback reported while it ran long that returns without holding the loop past the threshold says nothing", () => {
  const messages = coachOf(events(stalled(7, 6, 0.12), ["handle.end", { handle: 7, task: 2 }],
    ["run.end", { status: "ok", reason: "…", elapsed: 0 }]));
  assert.deepEqual(messages, []);
  const counted = coachOf(events(blocked(7, 6, "cpu"), stalled(9, 6, 0.12), ["handle.end", { handle: 9, task: 2 }]));
  assert.deepEqual(where(counted), [["blocking-cpu", 6]]);
  assert.equal(counted[0].live, null);
});

test("a callback still holding the loop when the run ends held it until the run was stopped", () => {
  const messages = coachOf(events(stalled(7, 6, 0.1), stalled(7, 6, 2.5),
    ["run.end", { status: "timeout", reason: "…", elapsed: 0 }]));
  assert.deepEqual(where(messages), [["endless", 6]]);
  assert.match(messages[0].title, /held it until the run was stopped/);
  const waiting = coachOf(events(stalled(3, 14, 0.1, "wait"), ["run.end", { status: "timeout", reason: "…", elapsed: 0 }]));
  assert.deepEqual(where(waiting), [["blocking-wait", 14]]);
});

test("the fold keeps the coach: messages come with their events, go when stepping back, and are narrated", () => {
  const trace = createTrace();
  addEvents(trace, events(["run.start", { target: "t", blocking: false, clock: "virtual", python: null, file: "main.py", threshold: 0.05 }],
    ["task.new", { task: 2, name: "spinner", coro: "spin", parent: null, line: 3, internal: false }],
    ["handle.schedule", { handle: 7, queue: "ready", when: null, task: 2, label: "step spinner", source: "call_soon", owner: null }],
    ["handle.begin", { handle: 7, task: 2 }], stalled(7, 6, 0.1), stalled(7, 6, 0.35)));
  const before = foldTo(trace, 3);
  assert.deepEqual(before.coach.messages, []);
  assert.equal(before.blocked, null);
  const live = foldTo(trace, 4);
  assert.deepEqual(where(live.coach.messages), [["endless", 6]]);
  assert.deepEqual(live.blocked, { duration: 0.1, task: 2, line: 6, cause: "cpu", live: true });
  assert.equal(live.tasks[2].line, 6);
  assert.match(live.narration, /still held at line 6.*Coach: Code that never gives the loop back held it for 0\.1 s so far/);
  assert.ok(!live.narration.includes("`"));
  assert.equal(foldTo(trace, 5).blocked.duration, 0.35);
  assert.deepEqual(foldTo(trace, 2).coach.messages, []);
});

test("the recorded mistake programs get their messages at the right lines", () => {
  const expected = {
    never_awaited: [["unawaited", 10], ["unawaited", 11]],
    never_retrieved: [["dropped-task", 10], ["unretrieved", 6]],
    dropped_task: [["dropped-task", 10]],
    blocking_calls: [["blocking-sleep", 9], ["blocking-cpu", null], ["blocking-wait", 19], ["blocking-wait", 24],
      ["blocking-wait", 33]],
    endless_loop: [["dropped-task", 11], ["endless", null]],
  };
  for (const [name, wanted] of Object.entries(expected)) {
    // In order, and nothing else but what a busy machine adds: a callback held up for 50 ms
    // blocks the loop too. A computing loop's line (null here) is either of the loop's lines.
    const found = where(coachOf(recorded(name)));
    let next = 0;
    for (const [kind, line] of found) {
      const [wantedKind, wantedLine] = wanted[next] || [];
      if (kind === wantedKind && (wantedLine === null || line === wantedLine)) next += 1;
      else assert.ok(["blocking-cpu", "blocking-wait"].includes(kind), `${name}: ${JSON.stringify(found)}`);
    }
    assert.equal(next, wanted.length, `${name}: ${JSON.stringify(found)}`);
  }
  const spin = coachOf(recorded("endless_loop"))[1];
  assert.ok([6, 7].includes(spin.line), spin.line);
  assert.match(spin.title, /until the run was stopped/);
});
