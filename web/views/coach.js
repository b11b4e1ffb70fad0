// The coach's messages (web/coach.js): one item per mistake, at its line, with what to do instead.
import { el, join } from "../join.js";

// "`code` and text" as text and <code> nodes (never HTML).
export function withCode(element, text) {
  element.replaceChildren(...text.split("`").map((part, i) => (i % 2 ? el("code", "", part) : document.createTextNode(part))));
}

export function renderCoach(root, state) {
  const messages = state.coach.messages;
  root.hidden = messages.length === 0;
  join(root.querySelector("ol"), messages, (m) => `${m.kind}:${m.line}`, () => {
    const item = el("li");
    item.append(el("span", "where"), el("strong", "title"), el("span", "advice"));
    return item;
  }, (item, m) => {
    const said = `${m.title}|${m.advice}`;
    item.dataset.coach = m.kind;
    item.dataset.line = m.line ?? "";
    item.classList.toggle("now", m.at === state.index); // (seq and index agree: both count events from 0)
    item.classList.toggle("live", m.live !== null);
    if (item.dataset.said === said) return;
    item.dataset.said = said;
    item.querySelector(".where").textContent = m.line ? `Line ${m.line}` : "";
    withCode(item.querySelector(".title"), m.title);
    withCode(item.querySelector(".advice"), m.advice);
  });
}
