// One lane per task on a loop-time axis: thin ticks where a step ran, shaded spans while it waited,
// and red bands where a callback blocked the loop — across every lane, because everything stalled.
// What lies after the cursor is veiled, so the picture at any position shows only the past clearly.
const SVG = "http://www.w3.org/2000/svg";
const LANES = 30; // the busiest lanes are drawn; the rest are counted
const LANE = 18;
const LEFT = 110;

function node(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// Everything the timeline needs, computed once per trace (and again when live events arrive).
function summarise(trace) {
  const lanes = new Map();
  const blocks = [];
  const lane = (id) => {
    if (!lanes.has(id)) lanes.set(id, { id, steps: [], waits: [], name: `task ${id}`, internal: false });
    return lanes.get(id);
  };
  const begun = new Map();
  let end = 0;
  for (const [index, e] of trace.events.entries()) {
    end = Math.max(end, e.t);
    if (e.kind === "task.new") Object.assign(lane(e.task), { name: e.name, internal: e.internal, born: e.t });
    else if (e.kind === "task.rename") lane(e.task).name = e.name;
    else if (e.kind === "handle.begin" && e.task !== null) begun.set(e.handle, { t: e.t, index });
    else if (e.kind === "handle.end" && e.task !== null && begun.has(e.handle)) {
      const start = begun.get(e.handle);
      lane(e.task).steps.push({ from: start.t, to: e.t, index: start.index });
    } else if (e.kind === "task.suspend") lane(e.task).waits.push({ from: e.t, index });
    else if (e.kind === "loop.blocked") blocks.push({ from: e.t - e.duration, to: e.t, line: e.line, index });
  }
  const shown = [...lanes.values()].filter((l) => !l.internal);
  return { lanes: shown.slice(0, LANES), hidden: Math.max(0, shown.length - LANES), blocks, end: Math.max(end, 0.001) };
}

// Loop time to an x position across the lanes.
const scale = (summary, width) => (t) => LEFT + (t / summary.end) * (width - LEFT - 10);

// The summary of a trace, made again when events arrived, but at most every half second while live.
const summaries = new WeakMap();
function summaryOf(trace) {
  const known = summaries.get(trace);
  const stale = !known || known.length !== trace.events.length;
  if (stale && (!known || trace.ended || performance.now() - known.made > 500)) {
    summaries.set(trace, { length: trace.events.length, data: summarise(trace), made: performance.now() });
  }
  return summaries.get(trace).data;
}

// The timeline's width, followed by a ResizeObserver: reading clientWidth while drawing would make the
// browser lay out the whole page there and then, every frame.
const widths = new WeakMap();
function widthOf(root, redraw) {
  if (!widths.has(root)) {
    widths.set(root, root.clientWidth);
    new ResizeObserver(() => {
      if (widths.get(root) === root.clientWidth) return;
      widths.set(root, root.clientWidth);
      redraw();
    }).observe(root);
  }
  return Math.max(widths.get(root), 400);
}

// The lanes are drawn once per summary; each frame only moves the cursor and the veil over the future.
export function renderTimeline(root, state, trace) {
  const summary = summaryOf(trace);
  const width = widthOf(root, () => renderTimeline(root, root.drawnState, root.drawnTrace));
  root.drawnState = state;
  root.drawnTrace = trace;
  if (root.summary !== summary || root.drawnWidth !== width) {
    root.replaceChildren(draw(summary, width));
    root.summary = summary;
    root.drawnWidth = width;
  }
  const x = scale(summary, width);
  const at = x(state.index < 0 ? 0 : state.t);
  const veil = root.querySelector(".future");
  veil.setAttribute("x", at);
  veil.setAttribute("width", Math.max(0, width - at));
  const cursor = root.querySelector(".cursor");
  cursor.setAttribute("x1", at);
  cursor.setAttribute("x2", at);
}

function draw(summary, width) {
  const height = (summary.lanes.length + 1) * LANE + 20;
  const x = scale(summary, width);
  const svg = node("svg", { width, height, role: "img", "aria-label": "timeline of tasks" });
  for (const block of summary.blocks) {
    svg.append(node("rect", { class: "block", x: x(block.from), y: 0, width: Math.max(2, x(block.to) - x(block.from)), height }));
  }
  summary.lanes.forEach((lane, row) => {
    const y = row * LANE + 4;
    svg.append(node("text", { x: 4, y: y + 11, class: "lane-name" }, lane.name.slice(0, 16)));
    let step = 0;
    for (const wait of lane.waits) {
      while (step < lane.steps.length && lane.steps[step].index < wait.index) step += 1;
      const until = step < lane.steps.length ? lane.steps[step].from : summary.end;
      svg.append(node("rect", { class: "wait", x: x(wait.from), y: y + 5, width: Math.max(1, x(until) - x(wait.from)), height: 4 }));
    }
    for (const run of lane.steps) {
      svg.append(node("rect", { class: "step", x: x(run.from), y, width: Math.max(3, x(run.to) - x(run.from)), height: 14 }));
    }
  });
  if (summary.hidden) {
    svg.append(node("text", { x: 4, y: summary.lanes.length * LANE + 15, class: "lane-name" }, `+${summary.hidden} more tasks`));
  }
  svg.append(node("rect", { class: "future", x: LEFT, y: 0, width: 0, height }));
  svg.append(node("line", { class: "cursor", x1: LEFT, x2: LEFT, y1: 0, y2: height }));
  return svg;
}
