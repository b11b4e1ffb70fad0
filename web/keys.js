// The page's keyboard shortcuts. They never take a key from the control that has the focus: text
// fields, lists and the editor keep every key, a checkbox or button its Space and Enter, the
// scrubber its arrows, Home, End and page keys, a scrollable region (source, output, log…, focusable
// so a keyboard can scroll them) the keys that scroll it.

const RANGE_KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"];
const SCROLL_KEYS = [...RANGE_KEYS, " "];

function ownsKey(target, key) {
  if (target.isContentEditable || target.closest(".cm-editor")) return true;
  if (target.tagName === "SELECT" || target.tagName === "TEXTAREA") return true;
  if (target.tagName === "BUTTON" || target.type === "checkbox" || target.type === "radio") {
    return key === " " || key === "Enter";
  }
  if (target.type === "range") return RANGE_KEYS.includes(key);
  if (target.tagName === "INPUT") return true;
  return target.hasAttribute("tabindex") && SCROLL_KEYS.includes(key);
}

// `actions`: {toggle, step(direction), iteration(direction), run, stop}.
export function bindKeys(actions) {
  document.addEventListener("keydown", (event) => {
    if (ownsKey(event.target, event.key) || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      " ": actions.toggle,
      ArrowRight: () => (event.shiftKey ? actions.iteration(1) : actions.step(1)),
      ArrowLeft: () => (event.shiftKey ? actions.iteration(-1) : actions.step(-1)),
      r: actions.run,
      R: actions.run,
      Escape: actions.stop,
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
}
