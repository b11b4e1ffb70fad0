// Wires the page: the picker, the connection and its runs, the recorded trace, the player and the views.
import { connect } from "./connection.js";
import { markCoach, markErrors } from "./editor.js";
import { remember } from "./elapsed.js";
import { bindKeys } from "./keys.js";
import { OWN, createKeptEditor } from "./own.js";
import { createPicker } from "./picker.js";
import { createPlayer } from "./player.js";
import { createRuns } from "./runs.js";
import { addEvents, createTrace, foldTo, initialState, iterationBoundary } from "./state.js";
import { renderCoach } from "./views/coach.js";
import { renderLoop, setGlide } from "./views/loop.js";
import { renderLog, renderOutcome } from "./views/log.js";
import { renderSource, setSource } from "./views/source.js";
import { renderTimeline } from "./views/timeline.js";

const $ = (selector) => document.querySelector(selector);
const page = { scenarios: [], trace: createTrace(), state: initialState(), editor: null, health: null };

const player = createPlayer((index) => show(index));

// -- the picture at the cursor ------------------------------------------------------------

function stateAt(index) {
  const current = page.state;
  const from = current.index <= index && index - current.index < 5000 ? current : null;
  return foldTo(page.trace, index, from);
}

function show(index) {
  page.state = stateAt(index);
  render();
}

// Every view is render(root, state, trace).
const VIEWS = [["loop", "#loop", renderLoop], ["source", "#source", renderSource],
  ["timeline", "#timeline", renderTimeline], ["log", "#logs", renderLog], ["outcome", "#outcome-area", renderOutcome],
  ["coach", "#coach", renderCoach]];

function render() {
  const { state, trace } = page;
  for (const [name, root, view] of VIEWS) timed(name, () => view($(root), state, trace));
  $("#narration").textContent = state.narration;
  markCoachInEditor(state);
  const scrubber = $("#scrubber");
  scrubber.max = String(Math.max(0, trace.events.length - 1));
  scrubber.value = String(Math.max(0, state.index));
  $("#position").textContent = `event ${state.index + 1} of ${trace.events.length}`;
  $("#play").textContent = player.playing ? "Pause" : "Play";
}

// Milliseconds spent per view since the page loaded (the page benchmark reads them).
const timings = {};
function timed(name, work) {
  const start = performance.now();
  work();
  timings[name] = (timings[name] || 0) + performance.now() - start;
}

// The coach's messages so far in the editor, while it holds the text that ran (an edit clears them).
let coachShown = "";
function markCoachInEditor(state) {
  if (!page.trace.request || page.trace.request.scenario !== OWN || page.edited) return;
  const key = state.coach.messages.map((m) => `${m.kind}:${m.line}:${m.title}`).join("|");
  if (key !== coachShown) markCoach(page.editor, state.coach.messages);
  coachShown = key;
}

function setStatus(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

const picker = createPicker(page, setStatus, () => renderSource($("#source"), page.state, page.trace));

// -- running ----------------------------------------------------------------------------------

function run() {
  const wanted = picker.request();
  if (!wanted) return;
  if (wanted.own && page.health && !page.health.sandbox.own_code) {
    setStatus("Running your own code is disabled on this server.", "error");
    return;
  }
  if (!connection.send({ ...wanted.message, clock: $("#clock").value })) {
    setStatus("Not connected to the server yet; trying again…", "error");
    return;
  }
  runs.started();
  newTrace(wanted.of);
  setSource($("#source"), wanted.source);
  if (wanted.own) {
    markErrors(page.editor, []);
    markCoach(page.editor, []);
    page.edited = false;
    coachShown = "";
  }
  setStatus("Starting…");
  render();
}

const stop = () => connection.send({ op: "stop" });

const runs = createRuns({
  onStatus: setStatus,
  onRunning() {
    setStatus("Running… (the picture plays the recorded events at the speed you choose)");
    player.play();
  },
  onEvents(events) {
    addEvents(page.trace, events);
    const end = events.find((e) => e.kind === "run.end");
    if (end) {
      remember(page.trace.request, end);
      if (page.trace.request && page.trace.request.scenario === OWN) {
        markErrors(page.editor, page.trace.events.filter((e) => e.kind === "error" && e.line));
      }
    }
    player.setLength(page.trace.events.length);
    if (!player.playing) render();
  },
  onFinished(status) {
    player.finished = true;
    const trace = page.trace;
    if (status !== "ok" && trace.ended) {
      const end = trace.events[trace.events.length - 1];
      setStatus(`Run finished: ${status}. ${end.reason}`, status === "stopped" ? "" : "error");
    } else {
      setStatus(`Run finished: ${status}.`);
    }
  },
});

const connection = connect({
  onMessage: (message) => runs.handle(message),
  onState(state) {
    $("#offline").hidden = state === "open";
    if (state === "open" && runs.current !== null && !page.trace.ended) {
      setStatus("The connection was lost during the run; press Run to start it again.", "error");
    }
  },
});

// An empty trace on screen (of `request`), the player back at its start.
function newTrace(request = null) {
  page.trace = createTrace(request);
  page.state = initialState();
  player.reset();
}

// Replay a saved trace (a list of events) without running anything.
function load(events) {
  newTrace();
  addEvents(page.trace, events);
  player.finished = true;
  player.setLength(events.length);
  render();
}

// -- controls ---------------------------------------------------------------------------------

function stepIteration(direction) {
  player.pause();
  player.seek(iterationBoundary(page.trace, player.cursor, direction));
}

function setRate(rate) {
  player.rate = rate;
  // Chips glide for a little less than the time one event stays on screen; faster, they just jump.
  const glide = Math.min(350, 900 / rate);
  setGlide(glide >= 50 ? glide : 0);
}

function wire() {
  $("#run").addEventListener("click", run);
  $("#stop").addEventListener("click", stop);
  $("#play").addEventListener("click", () => player.toggle());
  $("#back").addEventListener("click", () => { player.pause(); player.step(-1); });
  $("#forward").addEventListener("click", () => { player.pause(); player.step(1); });
  $("#back-iteration").addEventListener("click", () => stepIteration(-1));
  $("#forward-iteration").addEventListener("click", () => stepIteration(1));
  $("#scrubber").addEventListener("input", (event) => { player.pause(); player.seek(Number(event.target.value)); });
  $("#speed").addEventListener("change", (event) => setRate(Number(event.target.value)));
  setRate(Number($("#speed").value));
  player.onChange = () => { $("#play").textContent = player.playing ? "Pause" : "Play"; };
  bindKeys({
    toggle: () => player.toggle(),
    step: (direction) => { player.pause(); player.step(direction); },
    iteration: stepIteration,
    run,
    stop,
  });
}

async function start() {
  page.editor = createKeptEditor($("#editor"), (text) => {
    page.edited = true; // (the marks of the run no longer apply)
    if (picker.own() && !player.playing) setSource($("#source"), text);
  });
  wire();
  try {
    [page.scenarios, page.health] = await Promise.all([
      fetch("/api/scenarios").then((r) => r.json()), fetch("/api/health").then((r) => r.json())]);
  } catch {
    setStatus("Could not load the scenarios from the server. Reload the page to try again.", "error");
    return;
  }
  await picker.fill();
  render();
  setStatus("Ready. Press Run (or the R key).");
  document.body.dataset.ready = "true";
}

// For tests, benchmarks and the curious: the recorded trace, the player and the fold.
window.loopscope = { page, player, stateAt: (index) => foldTo(page.trace, index), run, stop, load, timings };
start();
