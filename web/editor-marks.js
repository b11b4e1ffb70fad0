// What a run of own code marks in the editor: its errors once it ends, and the coach's messages
// while the editor holds the text that ran (an edit makes those stale until the next run).
import { markCoach, markErrors } from "./editor.js";
import { OWN } from "./own.js";

const ownCode = (request) => Boolean(request) && request.scenario === OWN;

export function createEditorMarks() {
  let shown = ""; // the coach's messages marked now
  let stale = true;
  return {
    ran(editor) { markErrors(editor, []); markCoach(editor, []); shown = ""; stale = false; },
    edited() { stale = true; },
    ended(editor, trace) {
      if (ownCode(trace.request)) markErrors(editor, trace.events.filter((e) => e.kind === "error" && e.line));
    },
    show(editor, request, messages) {
      if (stale || !ownCode(request)) return;
      const key = messages.map((m) => `${m.kind}:${m.line}:${m.title}`).join("|");
      if (key !== shown) markCoach(editor, messages);
      shown = key;
    },
  };
}
