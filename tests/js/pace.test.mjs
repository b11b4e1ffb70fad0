// Playback's pace, tested without a browser (node --test): the schedule (web/pace.js), the key moments
// (web/moments.js) and the narration's pace (web/caption.js). tests/test_page_logic.py runs this file
// with real traces made by the trace CLI, named in LOOPSCOPE_TRACES (scenario id -> JSON-lines path).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { createCaption, weight } from "../../web/caption.js";
import { MANY_TASKS, createMoments } from "../../web/moments.js";
import { DWELL, IDLE_MS, OWN_WORK_MS, READ_MS, createSchedule, readMs, screenTimes } from "../../web/pace.js";

const TRACES = JSON.parse(process.env.LOOPSCOPE_TRACES || "{}");

function recorded(name) {
  assert.ok(TRACES[name], `no trace named ${name} in LOOPSCOPE_TRACES`);
  return readFileSync(TRACES[name], "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

const near = (actual, expected, what) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ms, not ${expected}`);
const total = (events, speed = 1) => createSchedule(speed).extend(events).total;
const find = (events, predicate, from = 0) => events.findIndex((e, i) => i >= from && predicate(e));

// Events of one made-up run, each at loop time `t`.
function made(...kinds) {
  return kinds.map(([kind, t, fields = {}], seq) => ({ v: 1, seq, t, kind, task: null, ...fields }));
}

test("events at one instant each stay on screen for their dwell", () => {
  const events = made(["run.start", 0], ["handle.schedule", 0, { handle: 1 }], ["loop.iteration", 0],
    ["handle.begin", 0, { handle: 1 }], ["stdout", 0], ["handle.end", 0, { handle: 1 }], ["run.end", 0]);
  const at = screenTimes(events);
  for (let i = 1; i < events.length; i += 1) near(at[i] - at[i - 1], DWELL[events[i - 1].kind], events[i - 1].kind);
  assert.ok(DWELL["handle.begin"] > DWELL["loop.iteration"], "the picture's changes stay longer than bookkeeping");
});

test("a callback that holds the loop holds the screen for as long, in proportion to the speed", () => {
  const events = recorded("tasks-blocking");
  const begin = find(events, (e) => e.kind === "handle.begin" && e.task === 2);
  const printed = find(events, (e) => e.kind === "stdout", begin);
  const end = find(events, (e) => e.kind === "handle.end" && e.task === 2);
  for (const speed of [0.5, 1, 2, 5]) {
    const at = screenTimes(events, speed);
    near(at[printed] - at[begin], 2000 / speed, `the 2 s of time.sleep at ${speed}×`);
    const held = at[end] - at[begin];
    assert.ok(held >= 2000 / speed && held < 2600 / speed, `the blocked step held ${held} ms at ${speed}×`);
  }
});

test("an idle wait is compressed and marked so; a short one shows as long as it lasts", () => {
  const events = made(["loop.idle", 0, { until: 2 }], ["handle.schedule", 2, { handle: 1 }],
    ["loop.idle", 2, { until: 2.2 }], ["handle.schedule", 2.2, { handle: 2 }], ["run.end", 2.2]);
  const schedule = createSchedule(1).extend(events);
  assert.equal(schedule.at[1], IDLE_MS);
  assert.deepEqual(schedule.compressed, [true, false, false, false, false]);
  near(schedule.at[3] - schedule.at[2], 200, "0.2 s of idle time");
  const real = recorded("sequential");
  const idle = createSchedule(1).extend(real);
  const waits = real.map((e, i) => i).filter((i) => real[i].kind === "loop.idle");
  assert.equal(waits.length, 2);
  for (const i of waits) {
    assert.ok(idle.compressed[i]);
    near(idle.at[i + 1] - idle.at[i], IDLE_MS, "a compressed wait");
  }
});

test("blocking runs play longer than non-blocking ones, by more than the extra events would suggest", () => {
  for (const name of ["sequential", "tasks"]) {
    const free = recorded(name);
    const blocking = recorded(`${name}-blocking`);
    assert.ok(blocking.length < free.length, "fewer events...");
    const ratio = total(blocking) / total(free);
    assert.ok(ratio > 1.2, `...yet ${name} blocking plays ${ratio.toFixed(2)}× as long as non-blocking`);
  }
});

test("as fast as possible, every event is at 0; other speeds divide the time", () => {
  const events = recorded("tasks");
  assert.ok(screenTimes(events, Infinity).every((ms) => ms === 0));
  const once = total(events);
  assert.ok(Math.abs(total(events, 2) - once / 2) < 1e-6);
  assert.ok(Math.abs(total(events, 0.5) - once * 2) < 1e-6);
  assert.equal(readMs(1), READ_MS);
  assert.equal(readMs(2), READ_MS / 2);
});

test("a schedule extended as events stream in equals one made at once", () => {
  const events = recorded("tasks-blocking");
  const streamed = createSchedule(1);
  for (let i = 0; i < events.length; i += 7) streamed.extend(events.slice(0, i + 7));
  const whole = createSchedule(1).extend(events);
  assert.deepEqual(streamed.at, whole.at);
  assert.deepEqual(streamed.compressed, whole.compressed);
});

test("a schedule taken to another speed, part streamed, equals one made at that speed", () => {
  const events = recorded("tasks-blocking");
  for (const speed of [2, 0.5, Infinity, 1]) {
    const half = Math.floor(events.length / 2);
    const moved = createSchedule(1).extend(events.slice(0, half)).atSpeed(speed).extend(events);
    const whole = createSchedule(speed).extend(events);
    assert.deepEqual(moved.at, whole.at, `at ${speed}x`);
    assert.deepEqual(moved.compressed, whole.compressed);
    assert.deepEqual(moved.own, whole.own);
    assert.deepEqual(moved.held, whole.held);
  }
});

test("asyncio's own shutdown work passes at the quickest dwell", () => {
  const events = recorded("sequential");
  const schedule = createSchedule(1).extend(events);
  const shutdown = find(events, (e) => e.kind === "task.new" && e.internal);
  assert.ok(shutdown > 0);
  for (let i = shutdown; i < events.length - 1; i += 1) {
    assert.ok(schedule.own[i], `${i} ${events[i].kind}`);
    near(schedule.at[i + 1] - schedule.at[i], OWN_WORK_MS, `${i} ${events[i].kind}`);
  }
  assert.ok(!schedule.own.slice(0, shutdown).some(Boolean), "the program's own events are not asyncio's");
});

test("a thousand tasks at one instant play in well under a minute, the first events at full dwell", () => {
  const events = recorded("stress");
  const schedule = createSchedule(1).extend(events);
  assert.ok(events.length > 10000);
  assert.ok(schedule.total < 60_000, `${schedule.total} ms`);
  near(schedule.at[10] - schedule.at[9], DWELL[events[9].kind], "the tenth event");
});

test("indexAt finds the event on screen at a time", () => {
  const schedule = createSchedule(1).extend(recorded("tasks"));
  assert.equal(schedule.indexAt(-1), -1);
  assert.equal(schedule.indexAt(0), 0);
  for (const i of [1, 10, 40]) {
    assert.equal(schedule.indexAt(schedule.at[i]), i);
    assert.equal(schedule.indexAt((schedule.at[i] + schedule.at[i + 1]) / 2), i);
  }
  assert.equal(schedule.indexAt(1e12), schedule.at.length - 1);
});

test("key moments: the first block, each task finishing, the end", () => {
  const events = recorded("tasks-blocking");
  const moments = createMoments().extend(events);
  const paused = events.map((e, i) => [e, moments.reason(i)]).filter(([, why]) => why);
  assert.deepEqual(paused.map(([e, why]) => [e.kind, e.task ?? null, why]), [
    // hello ends inside the first block: the block's pause comes a moment later and says more
    ["loop.blocked", 2, "the loop is blocked for the first time"],
    ["task.done", 3, "a task finished"],
    ["task.done", 1, "a task finished"],
    ["run.end", null, "the run is over"],
  ]);
});

test("key moments in a run of many tasks: only the first of them finishing", () => {
  const events = recorded("stress");
  const moments = createMoments().extend(events);
  assert.ok(events.filter((e) => e.kind === "task.new" && !e.internal).length > MANY_TASKS);
  const done = events.map((e, i) => i).filter((i) => moments.reason(i) === "a task finished");
  assert.equal(done.length, 1);
  assert.equal(done[0], find(events, (e) => e.kind === "task.done"));
});

test("key moments are known as the events stream in", () => {
  const events = recorded("tasks");
  const moments = createMoments();
  const first = find(events, (e) => e.kind === "task.done");
  moments.extend(events.slice(0, first));
  assert.equal(moments.reason(first), null, "not known yet");
  moments.extend(events);
  assert.equal(moments.reason(first), "a task finished");
});

// Narration: a caption over a real schedule, driven by a fake clock.
function captionOver(name) {
  const events = recorded(name);
  const schedule = createSchedule(1).extend(events);
  const shown = [];
  const caption = createCaption((index) => `sentence ${index}`, (text) => shown.push(text));
  const at = (cursor, now) => caption.follow({ schedule, events, cursor, now, read: READ_MS });
  return { events, schedule, shown, caption, at };
}

test("narration: a sentence stays at least its reading time, the heaviest one since replaces it", () => {
  const { events, schedule, shown, at } = captionOver("tasks");
  at(0, 0);
  assert.deepEqual(shown, ["sentence 0"]);
  for (let cursor = 1; schedule.at[cursor] < READ_MS / 3; cursor += 1) at(cursor, schedule.at[cursor]);
  assert.deepEqual(shown, ["sentence 0"], "nothing replaces a sentence within a third of its reading time");
  // Playing on frame by frame: every sentence shown had its reading time unless a heavier one replaced it.
  // (the sentence on screen weighs as its event does at the cursor: less once the cursor is past it)
  const when = [0];
  const said = [0];
  for (let now = 0, cursor = 0; cursor < events.length - 1; now += 16) {
    cursor = schedule.indexAt(now);
    const before = shown.length;
    at(cursor, now);
    if (shown.length > before) {
      const index = Number(shown.at(-1).split(" ")[1]);
      const age = now - when.at(-1);
      const heavier = weight(schedule, events, index, cursor) > weight(schedule, events, said.at(-1), cursor);
      assert.ok(age >= READ_MS || (heavier && age >= READ_MS / 3), `sentence ${index} after ${age} ms`);
      assert.ok(!schedule.own[index] || events[index].kind === "run.end", "asyncio's own work is not narrated");
      when.push(now);
      said.push(index);
    }
  }
  assert.ok(shown.length >= 3 && shown.length < events.length / 4, `${shown.length} sentences of ${events.length}`);
});

test("narration: a long wait is said while it is on screen, and what follows it is said once it is over", () => {
  const { events, schedule, shown, at } = captionOver("tasks");
  const said = []; // [index, cursor] of each sentence as it came
  for (let now = 0, cursor = 0; cursor < events.length - 1; now += 16) {
    cursor = schedule.indexAt(now);
    const before = shown.length;
    at(cursor, now);
    if (shown.length > before) said.push([Number(shown.at(-1).split(" ")[1]), cursor]);
  }
  const long = ([index]) => schedule.held[index] >= IDLE_MS && events[index].kind !== "run.end";
  const idle = said.filter(long);
  assert.ok(idle.length >= 2 && idle.every(([index, cursor]) => index === cursor), JSON.stringify(said));
  // After each long wait, what comes of it is said before the next one (it used to hold the line through it).
  said.forEach((sentence, at) => {
    if (long(sentence) && at + 1 < said.length) assert.ok(!long(said[at + 1]), JSON.stringify(said));
  });
  assert.ok(said.some(([index]) => events[index].kind === "task.done"), JSON.stringify(said));
});

test("narration: paused or stepping, the line changes at once, and playing again starts afresh", () => {
  const { shown, caption, at } = captionOver("tasks");
  at(0, 0);
  at(1, 10);
  assert.deepEqual(shown, ["sentence 0"]);
  caption.say("paused here");
  assert.deepEqual(shown, ["sentence 0", "paused here"]);
  at(5, 20);
  assert.deepEqual(shown, ["sentence 0", "paused here", "sentence 5"]);
});

test("narration: a coach's warning is said over the prints around it", () => {
  const at = (kind, fields) => ({ v: 1, seq: 0, t: 0, kind, ...fields });
  const events = [at("run.start", { target: "main.py", blocking: false, clock: "virtual", python: "3.11", file: "main.py", threshold: 0.05 }),
    at("stdout", { text: "a\n", task: 1, stream: "stdout" }), at("coroutine.unawaited", { coro: "fetch", line: 5 }),
    at("stdout", { text: "b\n", task: 1, stream: "stdout" }), at("stdout", { text: "c\n", task: 1, stream: "stdout" })]
    .map((event, seq) => ({ ...event, seq }));
  const schedule = createSchedule(1).extend(events);
  const shown = [];
  const caption = createCaption((index) => index, (index) => shown.push(index));
  caption.follow({ schedule, events, cursor: 1, now: 0, read: READ_MS });
  caption.follow({ schedule, events, cursor: 4, now: READ_MS, read: READ_MS }); // (all passed within one reading)
  assert.deepEqual(shown, [1, 2]);
});

test("key moments in a run of many tasks whose first end is inside the first block: the next end", () => {
  const events = recorded("semaphore-blocking");
  const moments = createMoments().extend(events);
  assert.ok(events.filter((e) => e.kind === "task.new" && !e.internal).length > MANY_TASKS);
  const ends = events.map((e, i) => i).filter((i) => events[i].kind === "task.done");
  const done = events.map((e, i) => i).filter((i) => moments.reason(i) === "a task finished");
  assert.equal(done.length, 1);
  const block = find(events, (e) => e.kind === "loop.blocked");
  assert.ok(ends[0] < block && done[0] === ends.find((i) => i > block), `ends ${ends}, block ${block}, paused ${done}`);
});
