// Wires the page: controls, the connection, the recorded trace, the player and the views.
import { connect } from "./connection.js";
import { markErrors, setText, textOf } from "./editor.js";
import { comparison, remember } from "./elapsed.js";
import { bindKeys } from "./keys.js";
import { BLOCKING_NOTE, OWN, availability, createKeptEditor, shareLink } from "./own.js";
import { decodeShare } from "./share.js";
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
  runId: null, // the run on screen
  lastRun: 0, // the highest run id the server has mentioned
  ignoreUpTo: 0, // messages about runs up to this id belong to runs replaced by a newer Run
  request: null, // what the current trace is a run of: {scenario, blocking}
  editor: null,
  health: null,
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
  timed("outcome", () => renderOutcome($("#outcome-area"), state, comparison(page.request), page.trace.ended));
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

function ownCode() {
  return $("#scenario").value === OWN;
}

function mode() {
  return $("#blocking").checked ? "blocking" : "non-blocking";
}

function showScenario() {
  const own = ownCode();
  const scenario = currentScenario();
  if (!own && !scenario) return;
  const canBlock = own || scenario.modes.includes("blocking");
  $("#blocking").disabled = !canBlock;
  if (!canBlock) $("#blocking").checked = false;
  $("#mode-note").textContent = canBlock ? "" : "This scenario never sleeps, so it has no blocking variant.";
  $("#editor-panel").hidden = !own;
  $("#edit").hidden = own;
  $("#title").textContent = own ? "Your own code" : scenario.title;
  $("#explanation").textContent = own
    ? `Write any asyncio program and press Run: it runs in the sandbox on the server, traced like the scenarios. ${BLOCKING_NOTE}`
    : scenario.explanation;
  setSource($("#source"), own ? textOf(page.editor) : scenario.source[mode()]);
  const query = new URLSearchParams({ scenario: own ? OWN : scenario.id });
  if ($("#blocking").checked) query.set("blocking", "1");
  history.replaceState(null, "", `?${query}${own ? location.hash : ""}`);
  renderSource($("#source"), page.state);
}

function editScenario() {
  const scenario = currentScenario();
  if (!scenario) return;
  setText(page.editor, scenario.source[mode()]);
  $("#scenario").value = OWN;
  showScenario();
  page.editor.focus();
}

async function share() {
  const link = await shareLink(textOf(page.editor), $("#blocking").checked);
  $("#share-link").value = link.url;
  $("#share-link").select();
  setStatus(link.copied ? "Link copied: it holds your code and mode (nothing is stored on the server)."
    : "Copy the link next to the Share button: it holds your code and mode.");
}

function showOwnCodeAvailability() {
  const note = availability(page.health);
  if (!note) return;
  $("#own-note").textContent = note.text;
  $("#own-note").className = note.warning ? "own-note warning" : "own-note";
  $("#run").disabled = ownCode() && !note.allowed;
}

// -- running -------------------------------------------------------------------------------

function run() {
  const own = ownCode();
  const scenario = currentScenario();
  if (!own && !scenario) return;
  if (own && page.health && !page.health.sandbox.own_code) {
    setStatus("Running your own code is disabled on this server.", "error");
    return;
  }
  const blocking = $("#blocking").checked;
  const source = own ? textOf(page.editor) : scenario.source[mode()];
  const request = own ? { op: "run", code: source } : { op: "run", scenario: scenario.id };
  const sent = connection.send({ ...request, blocking, clock: $("#clock").value });
  if (!sent) {
    setStatus("Not connected to the server yet; trying again…", "error");
    return;
  }
  page.request = { scenario: own ? OWN : scenario.id, blocking };
  page.ignoreUpTo = page.lastRun; // the server finishes any earlier run of this socket first
  newTrace();
  setSource($("#source"), source);
  if (own) markErrors(page.editor, []);
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
  if (message.type === "status" && message.state === "finished" && message.status !== "ok" && page.trace.ended) {
    const end = page.trace.events[page.trace.events.length - 1];
    setStatus(`Run finished: ${message.status}. ${end.reason}`, message.status === "stopped" ? "" : "error");
    player.finished = true;
    return;
  }
  if (message.run !== undefined) {
    page.lastRun = Math.max(page.lastRun, message.run);
    if (message.run <= page.ignoreUpTo) return; // the tail of a run that a newer Run replaced
  }
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
      remember(page.request, end);
      if (page.request && page.request.scenario === OWN) {
        const errors = page.trace.events.filter((e) => e.kind === "error" && e.line);
        markErrors(page.editor, errors);
      }
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
  $("#scenario").addEventListener("change", () => { showScenario(); showOwnCodeAvailability(); });
  $("#blocking").addEventListener("change", () => { showScenario(); });
  $("#run").addEventListener("click", run);
  $("#edit").addEventListener("click", editScenario);
  $("#share").addEventListener("click", share);
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
    if (ownCode() && !player.playing) setSource($("#source"), text);
  });
  wire();
  try {
    [page.scenarios, page.health] = await Promise.all([
      fetch("/api/scenarios").then((r) => r.json()), fetch("/api/health").then((r) => r.json())]);
  } catch {
    setStatus("Could not load the scenarios from the server. Reload the page to try again.", "error");
    return;
  }
  for (const scenario of page.scenarios) $("#scenario").append(new Option(scenario.title, scenario.id));
  $("#scenario").append(new Option("Your own code", OWN));
  const query = new URLSearchParams(location.search);
  const shared = await decodeShare(location.hash);
  if (shared) {
    setText(page.editor, shared.code);
    $("#scenario").value = OWN;
    $("#blocking").checked = shared.blocking;
  } else {
    const wanted = query.get("scenario");
    if (wanted === OWN || page.scenarios.some((s) => s.id === wanted)) $("#scenario").value = wanted;
    $("#blocking").checked = query.get("blocking") === "1";
  }
  showScenario();
  showOwnCodeAvailability();
  render();
  setStatus("Ready. Press Run (or the R key).");
  document.body.dataset.ready = "true";
}

// An empty trace on screen, the player back at its start.
function newTrace() {
  page.trace = createTrace();
  page.state = initialState();
  page.summary = null;
  page.runId = null;
  player.reset();
}

// Replay a saved trace (a list of events) without running anything.
function load(events) {
  newTrace();
  addEvents(page.trace, events);
  page.trace.ended = true;
  player.finished = true;
  player.setLength(events.length);
  render();
}

// For tests, benchmarks and the curious: the recorded trace, the player and the fold.
window.loopscope = { page, player, stateAt: (index) => foldTo(page.trace, index), run, stop, load, timings };
start();
