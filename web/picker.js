// The scenario picker and what hangs on it: title, explanation, mode, the source shown, the URL,
// the own-code editor's panel, Share, and whether this server lets own code run.
import { showSentence } from "./plain.js";
import { setText, textOf } from "./editor.js";
import { BLOCKING_NOTE, OWN, availability, keepBeforeShare, shareLink } from "./own.js";
import { decodeShare } from "./share.js";
import { setSource } from "./views/source.js";

const $ = (selector) => document.querySelector(selector);

// `page`: {scenarios, editor, health}; `setStatus(text, kind)`; `onShown()` after the picture changed.
export function createPicker(page, setStatus, onShown) {
  const own = () => $("#scenario").value === OWN;
  const scenario = () => page.scenarios.find((s) => s.id === $("#scenario").value);
  const mode = () => ($("#blocking").checked ? "blocking" : "non-blocking");

  function show() {
    const current = scenario();
    if (!own() && !current) return;
    const canBlock = own() || current.modes.includes("blocking");
    $("#blocking").disabled = !canBlock;
    if (!canBlock) $("#blocking").checked = false;
    $("#mode-note").textContent = canBlock ? "" : "This scenario never sleeps, so it has no blocking variant.";
    $("#editor-panel").hidden = !own();
    $("#edit").hidden = own();
    $("#title").textContent = own() ? "Your own code" : current.title;
    // (a docstring's lines, joined into paragraphs that wrap at any width; `code` as code)
    showSentence($("#explanation"), own()
      ? `Write any asyncio program and press Run: it runs in the sandbox on the server, traced like the scenarios. ${BLOCKING_NOTE}`
      : current.explanation.replace(/([^\n])\n(?=[^\n])/g, "$1 "));
    setSource($("#source"), own() ? textOf(page.editor) : current.source[mode()]);
    const query = new URLSearchParams({ scenario: own() ? OWN : current.id });
    if ($("#blocking").checked) query.set("blocking", "1");
    if (document.documentElement.classList.contains("presenting")) query.set("present", "1");
    history.replaceState(null, "", `?${query}${own() ? location.hash : ""}`);
    onShown();
  }

  function showAvailability() {
    const note = availability(page.health);
    if (!note) return;
    $("#own-note").textContent = note.text;
    $("#own-note").className = note.warning ? "own-note warning" : "own-note";
    $("#run").disabled = own() && !note.allowed;
  }

  function edit() {
    const current = scenario();
    if (!current) return;
    setText(page.editor, current.source[mode()]);
    $("#scenario").value = OWN;
    // (as choosing "Your own code" in the list does: the scenario's run stops and its picture goes)
    $("#scenario").dispatchEvent(new Event("change"));
    page.editor.focus();
  }

  async function share() {
    const link = await shareLink(textOf(page.editor), $("#blocking").checked);
    $("#share-link").value = link.url;
    $("#share-link").select();
    setStatus(link.copied ? "Link copied: it holds your code and mode (nothing is stored on the server)."
      : "Copy the link next to the Share button: it holds your code and mode.");
  }

  // A shared link never silently replaces newer text of one's own: both stay one click away.
  function offerBoth(mine, theirs) {
    if (mine === null) return;
    $("#kept-note").hidden = false;
    const swap = (text, showing) => () => {
      setText(page.editor, text);
      $("#restore-kept").hidden = showing === "mine";
      $("#use-shared").hidden = showing !== "mine";
      show();
    };
    $("#restore-kept").addEventListener("click", swap(mine, "mine"));
    $("#use-shared").addEventListener("click", swap(theirs, "theirs"));
  }

  // The options, then the choice a shared link (#fragment) or the query string asks for.
  async function fill() {
    for (const each of page.scenarios) $("#scenario").append(new Option(each.title, each.id));
    $("#scenario").append(new Option("Your own code", OWN));
    const query = new URLSearchParams(location.search);
    const shared = await decodeShare(location.hash);
    if (shared) {
      offerBoth(keepBeforeShare(shared.code), shared.code);
      setText(page.editor, shared.code);
      $("#scenario").value = OWN;
      $("#blocking").checked = shared.blocking;
    } else {
      const wanted = query.get("scenario");
      if (wanted === OWN || page.scenarios.some((s) => s.id === wanted)) $("#scenario").value = wanted;
      $("#blocking").checked = query.get("blocking") === "1";
    }
    show();
    showAvailability();
  }

  $("#scenario").addEventListener("change", () => { show(); showAvailability(); });
  $("#blocking").addEventListener("change", show);
  $("#edit").addEventListener("click", edit);
  $("#share").addEventListener("click", share);

  // What Run sends and what the trace is a run of, or null when nothing can run.
  function request() {
    const current = scenario();
    if (!own() && !current) return null;
    const blocking = $("#blocking").checked;
    const source = own() ? textOf(page.editor) : current.source[mode()];
    const message = own() ? { op: "run", code: source } : { op: "run", scenario: current.id };
    return { message: { ...message, blocking }, source, own: own(), of: { scenario: own() ? OWN : current.id, blocking } };
  }

  return { fill, request, own };
}
