// The pace of the narration line during playback: a sentence stays at least long enough to read, and
// when it goes, the sentence that replaces it is of the weightiest event passed meanwhile (the others
// are skipped, not flashed). Stepping or paused, the line says the event on screen at once. Pure.
import { DWELL, IDLE_MS } from "./pace.js";

// How much an event's sentence matters, with the cursor at `cursor`: what changes the picture most,
// most; an event that holds the screen for long (a block, an idle wait) more than any while it is on
// screen, but once the cursor is past it, no more than its kind (else "the loop sleeps until t=1"
// stayed on through the wake-up, the prints and the tasks' ends it was waiting for); asyncio's own
// work, nothing.
export function weight(schedule, events, index, cursor = index) {
  const event = events[index];
  if (schedule.own[index] && event.kind !== "run.end") return 0;
  if (event.kind === "run.end" || (index === cursor && schedule.held[index] >= IDLE_MS)) return 200;
  return DWELL[event.kind] ?? 40;
}

// `sentenceOf(index)`: the sentence for an event; `show(text)`: puts it on screen.
export function createCaption(sentenceOf, show) {
  let shown = -1; // the index whose sentence is on screen (-1: another text)
  let shownWeight = 0;
  let shownAt = -Infinity;
  let shownPlaying = false;
  let text = null;

  function put(words, index, now, playing, heft) {
    if (words !== text) show(words);
    text = words;
    shown = index;
    shownAt = now;
    shownPlaying = playing;
    shownWeight = heft;
  }

  return {
    // Paused, stepping, or a message that is not an event's: `words` at once.
    say(words, index = -1) {
      put(words, index, -Infinity, false, 0);
    },
    // Playing, the cursor at `cursor`; `now` in ms, `read` the reading time at this speed.
    follow({ schedule, events, cursor, now, read }) {
      if (cursor === shown || cursor < 0) return;
      const since = shownPlaying && cursor > shown ? shown + 1 : cursor;
      let best = cursor;
      let heft = weight(schedule, events, cursor);
      for (let i = cursor - 1; i >= since; i -= 1) {
        const each = weight(schedule, events, i, cursor);
        if (each > heft) [best, heft] = [i, each];
      }
      const age = now - shownAt;
      // (what the line says now weighs as its event does from here: less once the cursor is past it)
      const current = shown >= 0 ? weight(schedule, events, shown, cursor) : shownWeight;
      const due = !shownPlaying || age >= read || (heft > current && age >= read / 3);
      if (due && (heft > 0 || !shownPlaying)) put(sentenceOf(best), best, now, true, heft);
    },
  };
}
