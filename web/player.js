// Moves a cursor through the recorded trace at the chosen speed. The only module that uses
// requestAnimationFrame; step() advances synchronously, so tests can drive it without waiting.
// Events a frame may apply, adapted to how long frames take: a slow frame must not make the next
// one slower still (the backlog is dropped, not carried). At most 1000, so that a frame stores at most
// one or two checkpoints (see state.js).
const FRAME_BUDGET_MS = 16;

export function createPlayer(onMove) {
  let cursor = -1;
  let length = 0;
  let playing = false;
  let rate = 8; // events per second
  let carry = 0;
  let last = null;
  let frame = null;
  let perFrame = 200;

  function move(to) {
    const next = Math.max(-1, Math.min(to, length - 1));
    if (next !== cursor) {
      cursor = next;
      onMove(cursor);
    }
  }

  function tick(now) {
    frame = null;
    if (!playing) return;
    if (last !== null) carry += ((now - last) / 1000) * rate;
    last = now;
    const steps = Math.min(Math.floor(carry), perFrame);
    carry = steps === perFrame ? 0 : carry - steps;
    if (steps > 0) {
      const began = performance.now();
      move(cursor + steps);
      const took = performance.now() - began;
      if (steps === perFrame) perFrame = took > FRAME_BUDGET_MS ? Math.max(10, perFrame >> 1) : Math.min(1000, perFrame * 2);
    }
    if (cursor >= length - 1 && player.finished) {
      pause();
      return;
    }
    frame = requestAnimationFrame(tick);
  }

  function play() {
    if (playing) return;
    if (cursor >= length - 1 && player.finished) move(-1);
    playing = true;
    last = null;
    carry = 0;
    frame = requestAnimationFrame(tick);
    player.onChange();
  }

  function pause() {
    playing = false;
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    player.onChange();
  }

  const player = {
    finished: false, // no more events will arrive
    onChange: () => {},
    get cursor() { return cursor; },
    get playing() { return playing; },
    get rate() { return rate; },
    set rate(value) { rate = value; },
    setLength(value) { length = value; },
    play,
    pause,
    toggle() { (playing ? pause : play)(); },
    seek(index) { move(index); },
    step(by = 1) { move(cursor + by); },
    reset() { pause(); cursor = -1; length = 0; player.finished = false; },
  };
  return player;
}
