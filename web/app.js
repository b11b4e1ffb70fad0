// Wires the page: controls, the connection, the recorded trace, the player and the views.
import { connect } from "./connection.js";
import { createPlayer } from "./player.js";
import { addEvents, createTrace, foldTo, initialState, iterationBoundary } from "./state.js";
import { chipPositions, renderLoop } from "./views/loop.js";
import { renderLog, renderOutcome } from "./views/log.js";
import { renderSource, setSource } from "./views/source.js";
import { renderTimeline, summarise } from "./views/timeline.js";

const $ = (selector) => document.querySelector(selector);
const page = {
  scenarios: [],
  trace: createTrace(),
  state: initialState(),
  summary: null,
  runId: null,
  request: null, // what the current trace is a run of: {scenario, blocking}
};

const player = createPlayer((index) => show(index));

// -- state at the cursor ---------------------------------------------------------------

function stateAt(index) {
  const current = page.state;
  const from = current.index <= index && index - current.index < 5000 ? current : null;
  return foldTo(page.trace, index, from);
}

function show(index) {
  // Chips glide for a little less than the time one event stays on screen; faster, they just jump.
  const glide = Math.min(350, 900 / player.rate);
  const positions = glide >= 50 ? chipPositions($("#loop")) : null;
  page.state = stateAt(index);
  render(positions, glide);
}

function render(positions, glide) {
  const state = page.state;
  timed("loop", () => renderLoop($("#loop"), state, positions, glide));
  timed("source", () => renderSource($("#source"), state));
  // Summarise again when events arrived, but at most every half second while live.
  const stale = !page.summary || page.summary.length !== page.trace.events.length;
  if (stale && (!page.summary || page.trace.ended || performance.now() - page.summary.made > 500)) {
    page.summary = { length: page.trace.events.length, data: summarise(page.trace), made: performance.now() };
  }
  timed("timeline", () => renderTimeline($("#timeline"), page.summary.data, state));
  timed("log", () => renderLog($("#logs"), state, page.trace));
  $("#narration").textContent = state.narration;
  timed("outcome", () => renderOutcome($("#outcome-area"), state, comparison(), page.trace.ended));
  const scrubber = $("#scrubber");
  scrubber.max = String(Math.max(0, page.trace.events.length - 1));
  scrubber.value = String(Math.max(0, state.index));
  $("#position").textContent = `event ${state.index + 1} of ${page.trace.events.length}`;
  $("#play").textContent = player.playing ? "Pause" : "Play";
}

// Milliseconds spent per view since the page loaded (the page benchmark reads them).
const timings = {};
function timed(name, work) {
  const start = performance.now();
  work();
  timings[name] = (timings[name] || 0) + performance.now() - start;
}

// -- scenarios, modes, links -------------------------------------------------------------

function currentScenario() {
  return page.scenarios.find((s) => s.id === $("#scenario").value);
}

function mode() {
  return $("#blocking").checked ? "blocking" : "non-blocking";
}

function showScenario() {
  const scenario = currentScenario();
  if (!scenario) return;
  const canBlock = scenario.modes.includes("blocking");
  $("#blocking").disabled = !canBlock;
  if (!canBlock) $("#blocking").checked = false;
  $("#mode-note").textContent = canBlock ? "" : "This scenario never sleeps, so it has no blocking variant.";
  $("#title").textContent = scenario.title;
  $("#explanation").textContent = scenario.explanation;
  setSource($("#source"), scenario.source[mode()]);
  const query = new URLSearchParams({ scenario: scenario.id });
  if ($("#blocking").checked) query.set("blocking", "1");
  history.replaceState(null, "", `?${query}`);
  renderSource($("#source"), page.state);
}

function comparison() {
  const request = page.request;
  if (!request) return "";
  const saved = JSON.parse(localStorage.getItem(`loopscope:elapsed:${request.scenario}`) || "{}");
  const part = (name) => (saved[name] === undefined ? `${name}: not run yet` : `${name}: ${saved[name]} s`);
  return `Loop time of the latest runs — ${part("non-blocking")} · ${part("blocking")}`;
}

function remember(end) {
  const request = page.request;
  if (!request || end.status !== "ok") return;
  const key = `loopscope:elapsed:${request.scenario}`;
  const saved = JSON.parse(localStorage.getItem(key) || "{}");
  saved[request.blocking ? "blocking" : "non-blocking"] = end.elapsed;
  localStorage.setItem(key, JSON.stringify(saved));
}

// -- running -------------------------------------------------------------------------------

function run() {
  const scenario = currentScenario();
  if (!scenario) return;
  const blocking = $("#blocking").checked;
  const sent = connection.send({ op: "run", scenario: scenario.id, blocking, clock: $("#clock").value });
  if (!sent) {
    setStatus("Not connected to the server yet; trying again…", "error");
    return;
  }
  page.request = { scenario: scenario.id, blocking };
  page.runId = null;
  page.trace = createTrace();
  page.state = initialState();
  page.summary = null;
  player.reset();
  setSource($("#source"), scenario.source[mode()]);
  setStatus("Starting…");
  render();
}

function stop() {
  connection.send({ op: "stop" });
}

function onMessage(message) {
  if (message.type === "error") {
    setStatus(message.message, "error");
    return;
  }
  if (message.run !== undefined && page.runId !== null && message.run !== page.runId) return; // an older run
  if (message.type === "status") {
    page.runId = message.run;
    if (message.state === "queued") setStatus(`Waiting for a free slot: position ${message.position} in line…`);
    else if (message.state === "running") {
      setStatus("Running… (the picture plays the recorded events at the speed you choose)");
      player.play();
    } else if (message.state === "finished") {
      player.finished = true;
      setStatus(`Run finished: ${message.status}.`);
    }
    return;
  }
  if (message.type === "events") {
    page.runId = message.run;
    addEvents(page.trace, message.events);
    const end = message.events.find((e) => e.kind === "run.end");
    if (end) {
      page.trace.ended = true;
      remember(end);
    }
    player.setLength(page.trace.events.length);
    if (!player.playing) render();
  }
}

function setStatus(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

const connection = connect({
  onMessage,
  onState(state) {
    $("#offline").hidden = state === "open";
    if (state === "open" && page.runId !== null && !page.trace.ended) {
      setStatus("The connection was lost during the run; press Run to start it again.", "error");
    }
  },
});

// -- controls --------------------------------------------------------------------------------

function stepIteration(direction) {
  player.pause();
  player.seek(iterationBoundary(page.trace, player.cursor, direction));
}

function wire() {
  $("#scenario").addEventListener("change", () => { showScenario(); });
  $("#blocking").addEventListener("change", () => { showScenario(); });
  $("#run").addEventListener("click", run);
  $("#stop").addEventListener("click", stop);
  $("#play").addEventListener("click", () => player.toggle());
  $("#back").addEventListener("click", () => { player.pause(); player.step(-1); });
  $("#forward").addEventListener("click", () => { player.pause(); player.step(1); });
  $("#back-iteration").addEventListener("click", () => stepIteration(-1));
  $("#forward-iteration").addEventListener("click", () => stepIteration(1));
  $("#scrubber").addEventListener("input", (event) => { player.pause(); player.seek(Number(event.target.value)); });
  $("#speed").addEventListener("change", (event) => { player.rate = Number(event.target.value); });
  player.rate = Number($("#speed").value);
  player.onChange = () => { $("#play").textContent = player.playing ? "Pause" : "Play"; };
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName) && event.target.type !== "range"
      && event.target.type !== "checkbox";
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      " ": () => player.toggle(),
      ArrowRight: () => (event.shiftKey ? stepIteration(1) : (player.pause(), player.step(1))),
      ArrowLeft: () => (event.shiftKey ? stepIteration(-1) : (player.pause(), player.step(-1))),
      r: run,
      R: run,
      Escape: stop,
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
}

async function start() {
  wire();
  try {
    page.scenarios = await (await fetch("/api/scenarios")).json();
  } catch {
    setStatus("Could not load the scenarios from the server. Reload the page to try again.", "error");
    return;
  }
  for (const scenario of page.scenarios) $("#scenario").append(new Option(scenario.title, scenario.id));
  const query = new URLSearchParams(location.search);
  if (page.scenarios.some((s) => s.id === query.get("scenario"))) $("#scenario").value = query.get("scenario");
  $("#blocking").checked = query.get("blocking") === "1";
  showScenario();
  render();
  setStatus("Ready. Press Run (or the R key).");
  document.body.dataset.ready = "true";
}

// Replay a saved trace (a list of events) without running anything.
function load(events) {
  page.trace = createTrace();
  addEvents(page.trace, events);
  page.trace.ended = true;
  page.state = initialState();
  page.summary = null;
  page.runId = null;
  player.reset();
  player.finished = true;
  player.setLength(events.length);
  render();
}

// For tests, benchmarks and the curious: the recorded trace, the player and the fold.
window.loopscope = { page, player, stateAt: (index) => foldTo(page.trace, index), run, stop, load, timings };
start();
