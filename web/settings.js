// How the page shows a run, shared by the views: set by the page's controls, read when drawing.
export const settings = {
  internals: false, // show asyncio's internals: its own tasks, private callback names, the raw event log
  source: null, // the program's text (its own functions keep their names in plain words)
};

// Presentation mode: large type for a projector, the logs and the raw events hidden (html.presenting).
export function present(on) {
  document.documentElement.classList.toggle("presenting", on);
  document.querySelector("#present").setAttribute("aria-pressed", String(on));
}

// "Show asyncio internals": the views say raw names; the page shows the raw event log (body.internals).
export function showInternals(on) {
  settings.internals = on;
  document.body.classList.toggle("internals", on);
}
