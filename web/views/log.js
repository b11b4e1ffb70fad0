// The event log around the cursor, the program's output, and the run's outcome.
import { comparison } from "../elapsed.js";
import { el, join } from "../join.js";

const LOG_ROWS = 200;

function describe(event) {
  const { v, seq, t, kind, ...fields } = event;
  return `${String(seq).padStart(5)}  t=${t.toFixed(3)}  ${kind}  ${JSON.stringify(fields)}`;
}

export function renderLog(root, state, trace) {
  const first = Math.max(0, state.index - LOG_ROWS + 1);
  const rows = trace.events.slice(first, state.index + 1);
  const log = root.querySelector("[data-log]");
  join(log, rows, (e) => e.seq, () => el("li"), (element, e) => {
    if (!element.textContent) element.textContent = describe(e);
    element.className = `kind-${e.kind.replace(".", "-")}`;
  });
  log.scrollTop = log.scrollHeight;
  const output = root.querySelector("[data-output]");
  join(output, state.output.slice(-LOG_ROWS), (o) => o.seq, () => el("li"), (element, o) => {
    const task = o.task !== null && state.tasks[o.task] ? `[${state.tasks[o.task].name}] ` : "";
    element.textContent = `${task}${o.text.replace(/\n$/, "")}`;
    element.className = o.stream;
  });
  output.scrollTop = output.scrollHeight;
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
