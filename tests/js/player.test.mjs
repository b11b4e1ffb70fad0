// The player (web/player.js), tested without a browser (node --test): driven by a fake animation frame
// clock, its only source of time. tests/test_page_logic.py runs this file with real traces made by the
// trace CLI, named in LOOPSCOPE_TRACES (scenario id -> JSON-lines path).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { createMoments } from "../../web/moments.js";
import { createSchedule } from "../../web/pace.js";
import { createPlayer } from "../../web/player.js";

const TRACES = JSON.parse(process.env.LOOPSCOPE_TRACES || "{}");

function recorded(name) {
  assert.ok(TRACES[name], `no trace named ${name} in LOOPSCOPE_TRACES`);
  return readFileSync(TRACES[name], "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

const find = (events, predicate, from = 0) => events.findIndex((e, i) => i >= from && predicate(e));

function fakeFrames() {
  const queue = [];
  globalThis.requestAnimationFrame = (callback) => queue.push(callback);
  globalThis.cancelAnimationFrame = () => queue.splice(0);
  return { frame(now) { for (const callback of queue.splice(0)) callback(now); } };
}

function playerFor(events) {
  const frames = fakeFrames();
  const moves = [];
  const player = createPlayer((index) => moves.push(index));
  player.setEvents(events);
  return { player, frames, moves };
}

test("the player moves along the schedule and stops at the end", () => {
  const events = recorded("tasks-blocking");
  const { player, frames } = playerFor(events);
  player.finished = true;
  const schedule = createSchedule(1).extend(events);
  player.play();
  let now = 0;
  frames.frame(now);
  while (player.playing && now < 60_000) {
    now += 16;
    frames.frame(now);
    if (player.playing) assert.equal(player.cursor, schedule.indexAt(now), `at ${now} ms`);
  }
  assert.equal(player.cursor, events.length - 1);
  assert.ok(Math.abs(now - schedule.total) <= 16, `${now} ms for a ${schedule.total} ms schedule`);
});

test("the player pauses at a key moment, says why, and goes on from there; never at full speed", () => {
  const events = recorded("tasks-blocking");
  const moments = createMoments().extend(events);
  const { player, frames } = playerFor(events);
  player.finished = true;
  player.stopAt = (index) => moments.reason(index);
  player.play();
  for (let now = 0; player.playing; now += 16) frames.frame(now);
  assert.equal(events[player.cursor].kind, "loop.blocked");
  assert.equal(player.pausedFor, "the loop is blocked for the first time");
  player.play();
  assert.equal(player.pausedFor, null);
  for (let now = 0; player.playing; now += 16) frames.frame(now);
  assert.equal(events[player.cursor].kind, "task.done");
  player.seek(0);
  player.speed = Infinity;
  player.play();
  for (let now = 0; player.playing; now += 16) frames.frame(now);
  assert.equal(player.cursor, events.length - 1);
});

test("live, the wait for the next event counts towards the last one's time, and nothing is rushed", () => {
  const events = recorded("tasks-blocking");
  const begin = find(events, (e) => e.kind === "handle.begin" && e.task === 2);
  const arrived = events.slice(0, begin + 1);
  const { player, frames } = playerFor(arrived);
  player.play();
  let now = 0;
  for (; player.cursor < begin; now += 16) frames.frame(now);
  for (const until = now + 2500; now < until; now += 16) frames.frame(now); // the block, as long as it lasts
  assert.equal(player.cursor, begin, "waits at the last event");
  arrived.push(...events.slice(begin + 1));
  frames.frame(now);
  assert.equal(player.cursor, begin + 1, "the next event at once: its time was waited out");
  const schedule = createSchedule(1).extend(events);
  const next = schedule.at[begin + 2] - schedule.at[begin + 1];
  for (const until = now + next - 20; now < until;) frames.frame((now += 16));
  assert.equal(player.cursor, begin + 1, "the one after at its own pace");
});

test("at full speed a frame folds for a bounded time, however its events' costs vary, and the play ends", (t) => {
  const events = recorded("stress");
  // A clock of the test's own: folding costs 2 µs an event in the trace's first half and 100 µs in its
  // second (a count of events that was cheap to fold in one frame is not in the next).
  let clock = 0;
  const real = Object.getOwnPropertyDescriptor(globalThis, "performance");
  Object.defineProperty(globalThis, "performance", { value: { now: () => clock }, configurable: true });
  t.after(() => Object.defineProperty(globalThis, "performance", real));
  const half = Math.floor(events.length / 2);
  const cost = (index) => (index < half ? 0.002 : 0.1);
  const frames = fakeFrames();
  let cursor = -1;
  let folded = 0; // ms of folding in this frame
  const player = createPlayer((index) => {
    let spent = 0;
    for (let i = cursor + 1; i <= index; i += 1) spent += cost(i);
    folded += spent;
    clock += spent; // (spent as the player looks on)
    cursor = index;
  });
  player.setEvents(events);
  player.finished = true;
  player.speed = Infinity;
  player.play();
  const folds = [];
  for (let frame = 0; player.playing && frame < 10_000; frame += 1) {
    const before = folded;
    clock += 16;
    frames.frame(clock);
    folds.push(folded - before);
  }
  assert.equal(player.cursor, events.length - 1, "played to the end");
  const slice = 100 * cost(events.length - 1);
  const longest = Math.max(...folds);
  assert.ok(longest <= 32 + slice, `a frame folded for ${longest.toFixed(1)} ms (${folds.length} frames)`);
  assert.ok(folds.length < events.length / 50, `${folds.length} frames for ${events.length} events`);
});

test("changing the speed in the middle of an event keeps what it had left of its time, in proportion", () => {
  const events = recorded("tasks-blocking");
  const long = createSchedule(1).extend(events);
  const held = events.findIndex((_, i) => i + 1 < events.length && long.at[i + 1] - long.at[i] >= 1000);
  assert.ok(held > 0, "an event held a second or more at 1x");
  const { player, frames } = playerFor(events);
  player.finished = true;
  player.play();
  let now = 0;
  frames.frame(now);
  const switchAt = long.at[held] + 0.75 * (long.at[held + 1] - long.at[held]);
  while (now + 16 <= switchAt) frames.frame((now += 16));
  assert.equal(player.cursor, held);
  player.speed = 2;
  const left = 0.25 * (long.at[held + 1] - long.at[held]) / 2; // a quarter of its time, at twice the speed
  const switched = now;
  while (player.cursor === held) frames.frame((now += 16));
  assert.ok(Math.abs(now - switched - left) <= 40, `${now - switched} ms left of the event, not ${left}`);
});
