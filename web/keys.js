// The page's keyboard shortcuts, which act only while no text field or list has the focus.

function typing(target) {
  return target.isContentEditable || target.closest(".cm-editor")
    || (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && target.type !== "range"
      && target.type !== "checkbox");
}

// `actions`: {toggle, step(direction), iteration(direction), run, stop}.
export function bindKeys(actions) {
  document.addEventListener("keydown", (event) => {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
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
