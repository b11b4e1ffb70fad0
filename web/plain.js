// asyncio's own names in plain words, for a learner; the raw names stay in the trace (and show
// with "show asyncio internals"). Names the program defines itself are never rewritten.

// Callbacks asyncio schedules for itself, by the label the tracer gives them.
const CALLBACKS = {
  "TaskGroup._on_task_done": "the TaskGroup notes that a task finished",
  "as_completed.<locals>._on_completion": "as_completed() notes a finished awaitable",
  "Future.set_result": "a future gets its result",
  "Future.set_exception": "a future gets its exception",
  "Timeout._on_timeout": "the timeout runs out",
  "BaseSelectorEventLoop._read_from_self": "another thread wakes the loop",
  "shield.<locals>._outer_done_callback": "shield() sees the outer future end",
  "shield.<locals>._inner_done_callback": "shield() passes on the inner task's result",
  "_chain_future.<locals>._call_check_cancel": "a cancel is passed on to the worker thread's job",
  "_chain_future.<locals>._call_set_state": "the worker thread's result is handed to the loop",
  "BaseEventLoop.shutdown_default_executor()": "asyncio.run() shutting down its thread pool",
  "BaseEventLoop.shutdown_asyncgens": "asyncio.run() closing async generators",
  "BaseEventLoop.shutdown_default_executor": "asyncio.run() shutting down its thread pool",
};

const escaped = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const defines = (source, name) => source !== null && new RegExp(`\\b(def|class)\\s+${escaped(name)}\\b`).test(source);

// A label (a callback's, or what a task awaits) as a learner should read it. `source`: the
// program's text, so that its own functions keep their names. Remembered per source: the views ask
// for the same few labels hundreds of times a frame, and each answer may build a RegExp of the source.
const KEPT = 5000;
let keptFor = null;
const kept = new Map();

export function plainLabel(label, source = null) {
  if (keptFor !== source || kept.size > KEPT) {
    keptFor = source;
    kept.clear();
  }
  let plain = kept.get(label);
  if (plain === undefined) kept.set(label, (plain = plainly(label, source)));
  return plain;
}

function plainly(label, source) {
  if (CALLBACKS[label]) return CALLBACKS[label];
  const lambda = /^([\w.]+)\.<locals>\.<lambda>$/.exec(label);
  if (lambda) return `a lambda in ${lambda[1]}()`;
  const local = /^([\w.]+)\.<locals>\.(\w+)$/.exec(label);
  if (local) return defines(source, local[2]) ? `${local[2]} (inside ${local[1]})` : "a callback of asyncio's";
  const last = label.split(".").pop().replace(/\(.*$/, "");
  if (last.startsWith("_") && !defines(source, last)) return "a callback of asyncio's";
  // long floats the program passed, e.g. asyncio.sleep(0.13436424411240122); no Markdown backticks
  return label.replaceAll("`", "").replace(/\d+\.\d{4,}/g, (number) => String(Number(Number(number).toPrecision(3))));
}

// Shown to a learner only with "show asyncio internals": asyncio.run()'s own shutdown tasks.
export const isInternalTask = (state, id) => Boolean(state.tasks[id] && state.tasks[id].internal);

// A sentence with `code` in backticks, into `element` as text and <code> (never as HTML).
export function showSentence(element, sentence) {
  if (element.dataset.sentence === sentence) return;
  element.dataset.sentence = sentence;
  element.replaceChildren(...sentence.split("`").map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const code = document.createElement("code");
    code.textContent = part;
    return code;
  }));
}
