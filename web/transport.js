// The playback controls and what they show: play / pause, stepping, the scrubber, the speed, "pause
// at key moments", the narration line (a sentence stays long enough to read), the fast-forward label
// while an idle wait is compressed, and the end-of-run mark.
import { createCaption } from "./caption.js";
import { createMoments } from "./moments.js";
import { OWN } from "./own.js";
import { DWELL, readMs } from "./pace.js";
import { showSentence } from "./plain.js";
import { foldTo } from "./state.js";
import { setGlide } from "./views/loop.js";

const $ = (selector) => document.querySelector(selector);
const seconds = (t) => `${Number(t.toFixed(3))} s`;

export const speedOf = (value) => (value === "max" ? Infinity : Number(value));

// Chips glide for a little less than a callback's first moment on screen; faster, they just jump.
function glideFor(speed) {
  const glide = Math.min(350, (DWELL["handle.begin"] * 0.9) / speed);
  return glide >= 50 ? glide : 0;
}

// `player`: from player.js; `trace()`: the trace on screen; `stepIteration(direction)`.
export function createTransport(player, trace, stepIteration) {
  let moments = createMoments();
  let momentsOf = null;
  let pauseKeyTouched = false; // the learner chose; until then: on for scenarios, off for own code
  let current = null; // the state on screen
  let pausedFor = null;
  const caption = createCaption((index) => (index === current.index ? current : foldTo(trace(), index)).narration,
    (text) => showSentence($("#narration"), text));

  player.stopAt = (index) => {
    if (!$("#pause-key").checked) return null;
    if (momentsOf !== trace()) {
      moments = createMoments();
      momentsOf = trace();
    }
    return moments.extend(momentsOf.events).reason(index);
  };

  function setSpeed(value) {
    player.speed = speedOf(value);
    setGlide(glideFor(player.speed));
  }

  $("#play").addEventListener("click", () => player.toggle());
  $("#back").addEventListener("click", () => { player.pause(); player.step(-1); });
  $("#forward").addEventListener("click", () => { player.pause(); player.step(1); });
  $("#back-iteration").addEventListener("click", () => stepIteration(-1));
  $("#forward-iteration").addEventListener("click", () => stepIteration(1));
  $("#scrubber").addEventListener("input", (event) => {
    const to = Number(event.target.value); // pausing redraws the scrubber at the cursor
    player.pause();
    player.seek(to);
  });
  $("#speed").addEventListener("change", (event) => setSpeed(event.target.value));
  $("#pause-key").addEventListener("change", () => { pauseKeyTouched = true; });
  setSpeed($("#speed").value);

  function narrate(state, events) {
    if (events.length === 0) {
      const mode = $("#blocking").checked ? " in its blocking variant" : "";
      caption.say(trace().request ? "The run is starting…" : `Press Run to see “${$("#title").textContent}” run${mode}.`);
    } else if (player.playing) {
      caption.follow({ schedule: player.schedule, events, cursor: state.index, now: performance.now(), read: readMs(player.speed) });
    } else if (player.pausedFor) {
      const next = state.end ? "Play (Space) watches it again." : "Press Play (Space) to go on.";
      caption.say(`❚❚ Paused: ${player.pausedFor}. ${state.narration} ${next}`);
    } else {
      caption.say(state.narration, state.index);
    }
  }

  // Paused at a key moment, the narration says Space goes on: a control that has the focus (it was just
  // clicked: Run, the "pause at key moments" box) would take Space for itself (start again, untick the
  // box), so the focus moves to Play. Text (the editor, a field) keeps it: Space is a character there.
  function continueWithSpace() {
    const focused = document.activeElement;
    const takesSpace = (element) => element.tagName === "BUTTON" || element.tagName === "SELECT"
      || ["checkbox", "radio", "range"].includes(element.type);
    if (!focused || focused === document.body || (focused.id !== "play" && takesSpace(focused))) {
      $("#play").focus({ preventScroll: true });
    }
  }

  function fastForward(events) {
    const at = player.cursor;
    const event = events[at];
    if (!player.playing || player.speed === Infinity || !event || event.kind !== "loop.idle"
      || !player.schedule.compressed[at]) return null;
    const wake = events[at + 1].t;
    const what = event.until === null ? "waits for I/O" : `sleeps until t=${seconds(event.until)}`;
    return `▶▶ the loop ${what}: ${seconds(wake - event.t)} of idle time, fast-forwarded`;
  }

  return {
    render(state) {
      const { events, ended } = trace();
      if (!pauseKeyTouched) $("#pause-key").checked = $("#scenario").value !== OWN;
      current = state;
      narrate(state, events);
      if (player.pausedFor && !pausedFor) continueWithSpace();
      pausedFor = player.pausedFor;
      const forward = fastForward(events);
      const label = $("[data-fastforward]");
      label.hidden = forward === null;
      if (forward !== null && label.textContent !== forward) label.textContent = forward;
      $("[data-finished]").hidden = !(ended && events.length > 0 && player.cursor === events.length - 1);
      const scrubber = $("#scrubber");
      scrubber.max = String(Math.max(0, events.length - 1));
      scrubber.value = String(Math.max(0, state.index));
      $("#position").textContent = `event ${state.index + 1} of ${events.length}`;
      $("#play").textContent = player.playing ? "Pause" : "Play";
    },
  };
}
