// Moves a cursor through the recorded trace along its schedule (pace.js): loop time decides how long
// each event stays on screen. The only module that uses requestAnimationFrame; step() and seek() move
// synchronously, so tests can drive it without waiting.
import { createSchedule } from "./pace.js";

// How far a frame moves the cursor is bounded by time: it folds SLICE events at a time while the
// frame's budget lasts, what a frame may take (well under the 50 ms felt as a stall) less what the
// rest of the recent frames took, and at least half a frame at 60 Hz. A frame's rest is its drawing
// or, if longer, the whole frame less its fold (the browser's style, layout and paint count, so does
// the wait for the screen's next refresh, and so does a busy machine); the longest of the last three
// counts, as one quick frame says little. A count of events adapted from frame to frame overshot:
// folding an event differs tenfold in cost (a task's birth against a step). What a frame does not
// reach waits for the next (no backlog is carried).
const FRAME_MS = 32;
const LEAST_FOLD_MS = 8;
const SLICE = 100; // events folded between two looks at the clock (mostly under a millisecond)
// A frame later than this (a background tab, a busy machine) moves the picture on by this much only:
// the playback waits rather than skipping what it had to show.
const LONGEST_FRAME_MS = 100;

export function createPlayer(onMove) {
  let events = [];
  let speed = 1;
  let schedule = createSchedule(speed);
  let cursor = -1;
  let clock = 0; // milliseconds along the schedule
  let playing = false;
  let last = null;
  let frame = null;
  let drawMs = 0; // how long the last frame's drawing took (player.onFrame)
  let foldMs = 0; // how long the last frame's move took
  let rests = []; // what the last frames took besides their fold, the latest first
  let pausedFor = null; // why playback paused itself at the cursor
  let waiting = false; // at the last event so far, more to come

  const timeOf = (index) => (index >= 0 ? schedule.at[Math.min(index, schedule.at.length - 1)] ?? 0 : 0);
  // How much of the event at the cursor's time on screen has passed, from 0 to 1.
  function share() {
    const from = timeOf(cursor);
    const span = timeOf(cursor + 1) - from;
    return span > 0 && Number.isFinite(span) ? Math.min(1, Math.max(0, (clock - from) / span)) : 0;
  }

  function move(to) {
    const next = Math.max(-1, Math.min(to, events.length - 1));
    if (next !== cursor) {
      cursor = next;
      onMove(cursor);
    }
  }

  // Where the cursor stops on its way to `to`: the first key moment after it, if any.
  function stopBefore(to) {
    if (!player.stopAt || speed === Infinity) return -1;
    for (let i = cursor + 1; i <= to; i += 1) if (player.stopAt(i)) return i;
    return -1;
  }

  function tick(now) {
    frame = null;
    if (!playing) return;
    schedule.extend(events);
    rests = last !== null ? [Math.max(drawMs, now - last - foldMs), ...rests.slice(0, 2)] : [];
    const rest = rests.length > 0 ? Math.max(...rests) : FRAME_MS; // (the first frame: the least fold)
    if (last !== null) clock += Math.min(now - last, LONGEST_FRAME_MS);
    last = now;
    foldMs = 0;
    // Live, the wait for the next event counts towards the time the last one stays on screen, but
    // never beyond: what arrives late is not rushed through to catch up.
    if (waiting && cursor < events.length - 1) clock = Math.min(clock, timeOf(cursor + 1));
    const due = schedule.indexAt(clock);
    if (due > cursor) {
      const stop = stopBefore(due);
      const to = stop >= 0 ? stop : due;
      const began = performance.now();
      const budget = Math.max(LEAST_FOLD_MS, FRAME_MS - rest);
      do move(Math.min(to, cursor + SLICE));
      while (cursor < to && performance.now() - began < budget);
      foldMs = performance.now() - began;
      if (cursor < to) clock = timeOf(cursor);
      else if (stop >= 0) {
        pause(player.stopAt(stop));
        return;
      }
    }
    waiting = cursor >= events.length - 1;
    if (waiting && player.finished) {
      pause();
      return;
    }
    const drawing = performance.now();
    player.onFrame();
    drawMs = performance.now() - drawing;
    frame = requestAnimationFrame(tick);
  }

  function play() {
    if (playing) return;
    if (cursor >= events.length - 1 && player.finished) move(-1);
    playing = true;
    pausedFor = null;
    schedule.extend(events);
    clock = timeOf(cursor);
    last = null;
    frame = requestAnimationFrame(tick);
    player.onChange();
  }

  // Told only when something changed: a pause before a seek or a step (the scrubber, the keys) would
  // otherwise draw the old position once more just before the new one (half of a scrub's time).
  function pause(reason = null) {
    const changed = playing || pausedFor !== reason;
    playing = false;
    pausedFor = reason;
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    if (changed) player.onChange();
  }

  // Jump (not play) to `index`.
  function jump(index) {
    pausedFor = null;
    move(index);
    schedule.extend(events);
    clock = timeOf(cursor);
  }

  const player = {
    finished: false, // no more events will arrive
    stopAt: null, // (index) => why to pause there, or null; asked only while playing, not at "max"
    onChange: () => {}, // played, paused
    onFrame: () => {}, // each frame of playback
    get cursor() { return cursor; },
    get playing() { return playing; },
    get pausedFor() { return pausedFor; },
    get schedule() { return schedule; },
    get speed() { return speed; },
    // Loop seconds per second on screen; Infinity: as fast as possible.
    // (what the event on screen had left of its time, it keeps, in proportion: not all of it again)
    set speed(value) {
      const shown = share();
      speed = value;
      schedule = schedule.atSpeed(speed).extend(events);
      clock = timeOf(cursor) + shown * (timeOf(cursor + 1) - timeOf(cursor));
    },
    // The trace's events (the same array, growing as events arrive).
    setEvents(value) {
      events = value;
      if (cursor > events.length - 1) move(events.length - 1);
    },
    play,
    pause: () => pause(),
    toggle() { (playing ? pause : play)(); },
    seek: jump,
    step(by = 1) { jump(cursor + by); },
    reset() {
      pause();
      events = [];
      schedule = createSchedule(speed);
      cursor = -1;
      clock = 0;
      player.finished = false;
    },
  };
  return player;
}
