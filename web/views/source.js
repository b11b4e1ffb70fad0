// The program's source, with a marker per task at the line where it runs or waits (and, for an
// await nested in the program's own coroutines, at each outer await on the way), and the coach's
// marks (web/coach.js) at the lines of the mistakes seen so far.
import { awaitFrames } from "../events.js";
import { el } from "../join.js";

export function setSource(root, text) {
  const lines = text.replace(/\n$/, "").split("\n");
  const items = lines.map((line, i) => {
    const item = el("li");
    item.dataset.line = i + 1;
    item.append(el("code", "", line || " "), el("span", "markers"));
    return item;
  });
  const docstring = moduleDocstring(lines);
  if (docstring) items.splice(docstring.first - 1, 0, foldRow(items, docstring));
  root.querySelector("ol").replaceChildren(...items);
}

// Lines [first, last] (from 1) of the module's docstring, when it spans several lines.
function moduleDocstring(lines) {
  const first = lines.findIndex((line) => line.trim() !== "" && !line.trim().startsWith("#"));
  const opening = first < 0 ? null : /^[rRuU]?("""|\'\'\')/.exec(lines[first]);
  if (!opening || lines[first].slice(opening[0].length).includes(opening[1])) return null;
  const last = lines.findIndex((line, i) => i > first && line.includes(opening[1]));
  return last < 0 ? null : { first: first + 1, last: last + 1 };
}

// The docstring folded into one row (the page shows the scenario's explanation already); a
// button unfolds it. Line numbers stay those of the file (`value`, as hidden rows are not counted).
function foldRow(items, { first, last }) {
  const folded = items.slice(first - 1, last);
  for (const item of folded) item.hidden = true;
  if (items[last]) items[last].value = last + 1;
  const row = el("li", "fold");
  row.value = first;
  const button = el("button", "unfold", `""" the docstring: lines ${first}–${last}, the explanation shown above — show it`);
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => {
    for (const item of folded) item.hidden = false;
    row.hidden = true;
    folded[0].value = first;
  });
  row.append(button, el("span", "markers"));
  return row;
}

export function renderSource(root, state) { // (every view takes (root, state, trace); this one needs no more; it returns its scroll)
  const byLine = new Map();
  const outer = new Map(); // line -> "Task-1 → producer()": where a nested await passes through
  for (const task of Object.values(state.tasks)) {
    if (task.internal || task.state === "done") continue;
    // A task that has not suspended yet has no line; while it blocks the loop, it is at the blocking line.
    const line = state.blocked && state.blocked.task === task.id ? state.blocked.line : task.line;
    if (!line) continue;
    if (!byLine.has(line)) byLine.set(line, []);
    byLine.get(line).push(task);
    if (task.state !== "waiting" || line !== task.line) continue;
    const frames = awaitFrames(task.via);
    frames.slice(0, -1).forEach((frame, i) => {
      if (!frame.line || frame.line === line) return;
      if (!outer.has(frame.line)) outer.set(frame.line, []);
      outer.get(frame.line).push(`${task.name} → ${frames[i + 1].name}()`);
    });
  }
  const errorLines = new Set(state.errors.map((e) => e.line).filter(Boolean));
  const coached = new Map(); // line -> the coach's messages there
  for (const message of state.coach.messages) {
    if (message.line) coached.set(message.line, [...(coached.get(message.line) || []), message]);
  }
  for (const item of root.querySelectorAll("li[data-line]")) {
    const line = Number(item.dataset.line);
    const tasks = byLine.get(line) || [];
    const running = tasks.some((t) => t.state === "running");
    item.classList.toggle("running", running);
    item.classList.toggle("waiting", tasks.length > 0 && !running);
    item.classList.toggle("blocked", Boolean(state.blocked && state.blocked.line === line));
    item.classList.toggle("error", errorLines.has(line));
    markCoached(item, coached.get(line));
    const markers = item.querySelector(".markers");
    const through = tasks.length ? [] : outer.get(line) || [];
    item.classList.toggle("nested", through.length > 0);
    const text = tasks.length > 3 || through.length > 3
      ? `${tasks.length || through.length} tasks${tasks.length ? "" : " inside"}`
      : tasks.map((t) => `${t.state === "running" ? "▶ running:" : "waiting:"} ${t.name}`).join("  ")
        || through.map((said) => `inside: ${said}`).join("  ");
    if (markers.textContent !== text) markers.textContent = text;
  }
  // Keep the interesting line in view by scrolling the source box only, never the page.
  const focus = root.querySelector("li.blocked, li.running, li.error");
  return focus && (() => {
    const top = focus.offsetTop; // .source is the offset parent (position: relative)
    if (top < root.scrollTop || top > root.scrollTop + root.clientHeight - focus.offsetHeight) {
      root.scrollTop = Math.max(0, top - root.clientHeight / 3);
    }
  });
}

function markCoached(item, messages) {
  item.classList.toggle("coach", Boolean(messages));
  const kinds = messages ? messages.map((m) => m.kind).join(" ") : "";
  const said = messages ? messages.map((m) => `${m.title}. ${m.advice}`.replaceAll("`", "")).join("\n") : "";
  if ((item.dataset.coach || "") !== kinds) {
    if (kinds) item.dataset.coach = kinds;
    else delete item.dataset.coach;
  }
  if (item.title !== said) item.title = said;
}
