// When each event of a recorded run comes on screen during playback: paced by loop time, so a
// callback that holds the loop for 2 s holds the screen for 2 s at 1×. A speed is loop seconds per
// second on screen (1, 0.5, 2, 5, or Infinity: as fast as possible). Pure: node tests it alone.
//
// Event i stays on screen until event i+1, for the longer of its loop time (the gap to the next
// event's `t`) and a short dwell so that what happens at one instant can be seen. Three rules bend
// loop time: an idle wait (`loop.idle`) shows for at most IDLE_MS (and is marked as compressed, so
// the page can say it fast-forwards); a long run of events at one instant speeds up as it goes on
// (a thousand tasks made at once would otherwise take minutes); asyncio's own work (shutdown tasks
// and what they schedule) passes at the quickest dwell.

export const IDLE_MS = 500; // the most an idle wait stays on screen at 1×
export const READ_MS = 1200; // the least a sentence of narration stays on screen at 1×

// Milliseconds at 1× an event stays on screen when no loop time passes: events that change the
// picture (a chip enters a queue, runs, a task waits or ends, the program prints) are seen; the
// bookkeeping around them passes quickly. Small, so that loop time, not event count, decides how long
// a run plays: a non-blocking run's extra timer and wake-up events must not outweigh a blocked second.
export const DWELL = {
  "run.start": 30,
  "loop.iteration": 12,
  "task.new": 25,
  "task.rename": 12,
  "task.cancel": 80,
  "handle.schedule": 55,
  "handle.cancel": 70,
  "handle.begin": 80,
  "handle.end": 25,
  "task.suspend": 70,
  "task.done": 100,
  "future.done": 25,
  "loop.idle": 50,
  "loop.blocked": 100,
  "loop.exception": 100,
  "coroutine.unawaited": 100, // (a coach message: said over the prints around it)
  "program.hint": 100, // (likewise)
  "stdout": 80,
  "error": 100,
  "run.end": 0,
};
export const OWN_WORK_MS = 10; // asyncio's own work (its shutdown tasks), at 1×
const BURST = 40; // events at one instant shown at their full dwell before a burst speeds up

// The schedule of a trace that may still grow: `at[i]` is when event i comes on screen (ms from the
// first event); `compressed[i]` is true for an idle wait shown shorter than it lasted; `own[i]` for
// asyncio's own work; `held[i]`, the milliseconds at 1× event i stays on screen (once i+1 is known).
// `seen`: what a schedule at another speed learnt of the same events (atSpeed), taken over.
export function createSchedule(speed = 1, seen = null) {
  const m = seen || {
    compressed: [], own: [], held: [], internalTasks: new Set(), internalHandles: new Set(),
    running: null, // the handle running, and whether it is asyncio's own
    burst: 0, // events in a row whose dwell outlasted their loop time
    previous: null, previousOwn: false, count: 0,
  };
  const { compressed, held, internalTasks, internalHandles } = m;
  const at = [];
  for (let i = 0; i < m.count; i += 1) at.push(i === 0 ? 0 : at[i - 1] + (speed === Infinity ? 0 : held[i - 1] / speed));

  // Whether an event is asyncio's own work (and remember what its own work schedules).
  function own(event) {
    const byTask = event.task !== undefined && event.task !== null && internalTasks.has(event.task);
    switch (event.kind) {
      case "task.new":
        if (event.internal) internalTasks.add(event.task);
        return event.internal;
      case "handle.schedule":
        if (byTask || (m.running && m.running.own)) internalHandles.add(event.handle);
        return internalHandles.has(event.handle);
      case "handle.begin":
        m.running = { handle: event.handle, own: internalHandles.has(event.handle) };
        return m.running.own;
      case "handle.end": {
        const was = internalHandles.has(event.handle);
        m.running = null;
        return was;
      }
      case "loop.iteration":
        return m.previousOwn;
      default:
        return byTask;
    }
  }

  // How long `event` stays on screen, at 1×, when `next` follows it.
  function hold(event, isOwn, next, index) {
    const gap = Math.max(0, next.t - event.t) * 1000;
    const idle = event.kind === "loop.idle";
    const loopTime = idle ? Math.min(gap, IDLE_MS) : gap;
    compressed[index] = idle && gap > IDLE_MS;
    const dwell = isOwn ? OWN_WORK_MS : DWELL[event.kind] ?? 40;
    if (loopTime >= dwell) {
      m.burst = 0;
      held[index] = loopTime;
    } else {
      m.burst += 1;
      held[index] = Math.max(loopTime, m.burst <= BURST ? dwell : (dwell * BURST) / m.burst);
    }
    return held[index];
  }

  const schedule = {
    speed,
    at,
    compressed,
    own: m.own,
    held,
    // Schedule the events that were added to `events` since the last call.
    extend(events) {
      for (let i = at.length; i < events.length; i += 1) {
        const event = events[i];
        const isOwn = own(event);
        if (i === 0) at.push(0);
        else {
          const ms = hold(m.previous, m.previousOwn, event, i - 1);
          at.push(at[i - 1] + (speed === Infinity ? 0 : ms / speed));
        }
        compressed[i] = false;
        m.own[i] = isOwn;
        m.previous = event;
        m.previousOwn = isOwn;
      }
      m.count = at.length;
      return schedule;
    },
    // The same events at another speed, without looking at them again (scheduling 49,000 events
    // took a 78-101 ms task when the speed changed): this schedule is not to be extended afterwards.
    atSpeed(other) {
      return createSchedule(other, m);
    },
    // Screen milliseconds from the first event to the last one scheduled.
    get total() { return at.length ? at[at.length - 1] : 0; },
    // The last event on screen `ms` after the first (-1 before any).
    indexAt(ms) {
      let low = 0;
      let high = at.length - 1;
      if (high < 0 || at[0] > ms) return -1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (at[middle] <= ms) low = middle;
        else high = middle - 1;
      }
      return low;
    },
  };
  return schedule;
}

// Cumulative screen milliseconds per event of a whole trace.
export function screenTimes(events, speed = 1) {
  return createSchedule(speed).extend(events).at;
}

// How long a sentence of narration stays at least, on screen, at `speed`.
export function readMs(speed) {
  return speed === Infinity ? READ_MS / 5 : READ_MS / speed;
}
