// The event log up to the cursor, the program's output, and the run's outcome.
import { comparison } from "../elapsed.js";
import { el, join } from "../join.js";
import { settings } from "../settings.js";

const LOG_ROWS = 200; // lines of output kept on screen
// The log holds every event up to the cursor (50,000 at a run's cap), but only the rows in view exist:
// each row is ROW_PX high (style.css: .log li), and two spacers (::before, ::after) stand for the rest.
const ROW_PX = 18;
const SPARE_ROWS = 10; // drawn beyond each edge of the view, so a scroll shows rows at once

function describe(event) {
  const { v, seq, t, kind, ...fields } = event;
  return `${String(seq).padStart(5)}  t=${t.toFixed(3)}  ${kind}  ${JSON.stringify(fields)}`;
}

// What each log element shows: its events, how many of them, its height, whether it follows the end.
const logs = new WeakMap();

function logOf(list) {
  if (logs.has(list)) return logs.get(list);
  const log = { events: [], count: 0, height: 0, top: 0, follow: true, shown: new WeakMap() };
  logs.set(list, log);
  // Scrolled by the learner: it shows what is there, and follows the cursor again once back at the end.
  list.addEventListener("scroll", () => {
    log.top = list.scrollTop;
    log.follow = list.scrollTop + list.clientHeight >= list.scrollHeight - ROW_PX;
    scrollNow(drawRows(list, log));
  }, { passive: true });
  new ResizeObserver(() => { log.height = list.clientHeight; scrollNow(drawRows(list, log)); }).observe(list);
  return log;
}

function drawRows(list, log) {
  const inView = Math.ceil(log.height / ROW_PX);
  const top = log.follow ? Math.max(0, log.count - inView) : Math.floor(log.top / ROW_PX);
  const first = Math.max(0, Math.min(top, log.count - inView) - SPARE_ROWS);
  const last = Math.min(log.count, top + inView + SPARE_ROWS);
  list.style.setProperty("--above", `${first * ROW_PX}px`);
  list.style.setProperty("--below", `${(log.count - last) * ROW_PX}px`);
  join(list, log.events.slice(first, last), (e) => e.seq, () => el("li"), (element, e) => {
    if (log.shown.get(element) === e) return;
    log.shown.set(element, e);
    element.textContent = describe(e);
    element.className = `kind-${e.kind.replace(".", "-")}`;
  });
  return log.follow && (() => { list.scrollTop = log.count * ROW_PX; }); // (past the end: the browser stops there)
}

const scrollNow = (scroll) => scroll && scroll();
const outputs = new WeakMap(); // the output element -> the lines it shows

// Scrolling reads the layout, and in a section the browser skips while it is out of view
// (content-visibility in style.css) that means laying out the whole section there and then, every
// frame (about 8 ms of a scrub position at the event cap). So a skipped section scrolls once it
// comes into view, and not before. (The browser says when it skips one; asking would lay it out.)
const sections = new WeakMap(); // a section -> {skipped, due: its scrolling when it shows}
function scrollWhenShown(section, scroll) {
  let known = sections.get(section);
  if (!known) {
    known = { skipped: false, due: null };
    sections.set(section, known);
    section.addEventListener("contentvisibilityautostatechange", (event) => {
      known.skipped = event.skipped;
      if (event.skipped) return;
      const due = known.due;
      known.due = null;
      scrollNow(due);
    });
  }
  if (!known.skipped) scroll();
  else {
    const earlier = known.due;
    known.due = () => { scrollNow(earlier); scroll(); };
  }
}

export function renderLog(root, state, trace) {
  const output = root.querySelector("[data-output]");
  const shown = state.output.slice(-LOG_ROWS);
  const lines = shown.map((o) => {
    const task = o.task !== null && state.tasks[o.task] ? `[${state.tasks[o.task].name}] ` : "";
    return `${task}${o.text.replace(/\n$/, "")}`;
  });
  const said = `${shown.map((o) => `${o.seq}:${o.stream}`).join(" ")}\u0000${lines.join("\u0000")}`;
  const changed = outputs.get(output) !== said; // (unchanged output is neither drawn nor scrolled again)
  if (changed) {
    outputs.set(output, said);
    join(output, shown, (o) => o.seq, () => el("li"), (element, o, i) => {
      element.textContent = lines[i];
      element.className = o.stream;
    });
  }
  const list = root.querySelector("[data-log]");
  const log = logOf(list);
  // Hidden (asyncio internals off), the event log is not drawn at all.
  const moved = settings.internals && (log.events !== trace.events || log.count !== state.index + 1);
  if (moved) Object.assign(log, { events: trace.events, count: state.index + 1 });
  const scrollLog = moved && drawRows(list, log);
  return () => scrollWhenShown(root, () => {
    if (changed) output.scrollTop = output.scrollHeight;
    scrollNow(scrollLog);
  });
}

const STATUS_WORDS = {
  ok: "finished", error: "ended with an error", timeout: "hit its time limit", limit: "hit a sandbox limit",
  stopped: "was stopped",
};

export function renderOutcome(root, state, trace) {
  const end = state.end;
  const box = root.querySelector("[data-outcome]");
  if (!end) {
    box.textContent = state.start && !trace.ended ? "Running…" : "";
  } else {
    box.textContent = `The run ${STATUS_WORDS[end.status] || end.status} after ${end.elapsed} s of loop time. ${end.reason}`;
  }
  box.className = end ? `outcome ${end.status}` : "outcome";
  const errors = root.querySelector("[data-errors]");
  join(errors, state.errors, (e) => e.seq, () => el("pre", "error"), (element, e) => {
    element.textContent = `${e.line ? `Line ${e.line}: ` : ""}${e.message}\n\n${e.traceback}`;
  });
  const compare = root.querySelector("[data-compare]");
  compare.textContent = comparison(trace.request);
}
