// Wires the page: the picker, the connection and its runs, the recorded trace, the player and the views.
import { connect } from "./connection.js";
import { createEditorMarks } from "./editor-marks.js";
import { remember } from "./elapsed.js";
import { bindKeys } from "./keys.js";
import { createKeptEditor } from "./own.js";
import { createPicker } from "./picker.js";
import { createPlayer } from "./player.js";
import { createRuns } from "./runs.js";
import { addEvents, createTrace, foldTo, initialState, iterationBoundary } from "./state.js";
import { createTransport } from "./transport.js";
import { renderCoach } from "./views/coach.js";
import { renderLoop } from "./views/loop.js";
import { renderLog, renderOutcome } from "./views/log.js";
import { renderObjects } from "./views/objects.js";
import { renderSource, setSource } from "./views/source.js";
import { renderTimeline } from "./views/timeline.js";
import { timed, timings } from "./timings.js";
import { present, settings, showInternals } from "./settings.js";

const $ = (selector) => document.querySelector(selector);
const page = { scenarios: [], trace: createTrace(), state: initialState(), editor: null, health: null };

const editorMarks = createEditorMarks();
const player = createPlayer((index) => show(index));
const transport = createTransport(player, () => page.trace, stepIteration);

// -- the picture at the cursor ------------------------------------------------------------

function stateAt(index) {
  const current = page.state;
  const from = current.index <= index && index - current.index < 5000 ? current : null;
  return foldTo(page.trace, index, from);
}

// While playing, a frame draws once (player.onFrame), however many events it moved over.
let undrawn = false;
function show(index) {
  page.state = stateAt(index);
  if (player.playing) undrawn = true;
  else render();
}

// Every view is render(root, state, trace). One that scrolls (or glides, the loop's chips) returns how,
// done once all have drawn: the layout is then read once per frame, not once per view.
const VIEWS = [["loop", "#loop", renderLoop], ["source", "#source", renderSource],
  ["timeline", "#timeline", renderTimeline], ["log", "#logs", renderLog], ["outcome", "#outcome-area", renderOutcome],
  ["coach", "#coach", renderCoach], ["objects", "#objects", renderObjects]];

function render() {
  const { state, trace } = page;
  undrawn = false;
  const scrolls = VIEWS.map(([name, root, view]) => timed(name, () => view($(root), state, trace)));
  timed("scroll", () => scrolls.forEach((scroll) => scroll && scroll()));
  transport.render(state);
  editorMarks.show(page.editor, trace.request, state.coach.messages);
}

function setStatus(text, kind = "") {
  Object.assign($("#status"), { textContent: text, className: kind });
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
  settings.source = wanted.source;
  if (wanted.own) editorMarks.ran(page.editor);
  setStatus("Starting…");
  render();
}

// Stop ends the run on the server, if one is going, and the playback either way.
function stop() {
  player.pause();
  if (runs.active) connection.send({ op: "stop" });
  else setStatus("Playback stopped.");
}

// A new choice of scenario, mode or clock: the run on screen was of something else, so it goes.
function clear() {
  if (runs.forget()) connection.send({ op: "stop" });
  newTrace();
  render();
  setStatus("Ready. Press Run (or the R key).");
}

const runs = createRuns({
  onStatus: setStatus,
  onRunning(worker) { // (a worker's name in distributed mode)
    setStatus(`Running${worker ? ` on worker ${worker}` : ""}… (the picture plays the recorded events at the speed you choose)`);
    player.play();
  },
  onEvents(events) {
    addEvents(page.trace, events);
    const end = events.find((e) => e.kind === "run.end");
    if (end) {
      remember(page.trace.request, end);
      editorMarks.ended(page.editor, page.trace);
    }
    player.setEvents(page.trace.events);
    if (!player.playing) render();
  },
  onFinished(status) {
    player.finished = true;
    const end = page.trace.ended ? page.trace.events[page.trace.events.length - 1] : null;
    if (status !== "ok" && end) setStatus(`Run finished: ${status}. ${end.reason}`, status === "stopped" ? "" : "error");
    // (the server's run is over long before the playback is: say that the picture is a replay)
    else if (status === "ok") setStatus("Run finished: ok. The program is over; the picture replays what it recorded, at the speed you choose.");
    else setStatus(`Run finished: ${status}.`, "error"); // (no run.end came: e.g. the server lost its run queue)
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
  player.setEvents(page.trace.events);
  render();
}

// -- controls ---------------------------------------------------------------------------------

function stepIteration(direction) {
  player.pause();
  player.seek(iterationBoundary(page.trace, player.cursor, direction));
}

function wire() {
  $("#run").addEventListener("click", run);
  $("#stop").addEventListener("click", stop);
  for (const choice of ["#scenario", "#blocking", "#clock"]) $(choice).addEventListener("change", clear);
  player.onChange = render;
  player.onFrame = () => (undrawn ? render() : transport.render(page.state)); // (the narration follows the clock)
  $("#internals").addEventListener("change", (event) => { showInternals(event.target.checked); show(player.cursor); });
  $("#present").addEventListener("click", () => present(!document.documentElement.classList.contains("presenting")));
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
    editorMarks.edited(); // (the marks of the run no longer apply)
    if (picker.own() && !player.playing) setSource($("#source"), text);
  });
  wire();
  present(new URLSearchParams(location.search).get("present") === "1"); // (before the picker rewrites the URL)
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
