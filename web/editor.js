// The code editor for your own programs: CodeMirror 6 (vendored, see vendor/README.md) with Python
// highlighting, line numbers, undo, auto-indentation, and the run's errors and the coach's messages
// (web/coach.js) marked at their lines.
import { EditorState, RangeSet, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, GutterMarker, WidgetType, drawSelection, gutter, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

const setMarks = StateEffect.define();

class Message extends WidgetType {
  constructor(text) { super(); this.text = text; }
  eq(other) { return other.text === this.text; }
  toDOM() {
    const box = document.createElement("div");
    box.className = "cm-run-error";
    box.setAttribute("role", "alert");
    box.textContent = this.text;
    return box;
  }
}

const marks = StateField.define({
  create: () => Decoration.none,
  update(value, transaction) {
    if (transaction.docChanged) return Decoration.none; // the text moved on: old errors no longer apply
    for (const effect of transaction.effects) if (effect.is(setMarks)) value = effect.value;
    return value;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// The coach's marks: a line class and title on each line, and a marker in a gutter of their own.
const setCoach = StateEffect.define();
const plain = (text) => text.replaceAll("`", "");

class CoachMarker extends GutterMarker {
  constructor(kinds, said, line = 0) { super(); this.kinds = kinds; this.said = said; this.line = line; }
  eq(other) { return other.said === this.said; }
  toDOM() {
    const mark = document.createElement("span");
    mark.className = "cm-coach-marker";
    mark.textContent = "!";
    mark.title = this.said;
    mark.dataset.coach = this.kinds;
    mark.dataset.line = this.line;
    return mark;
  }
}

const coachMarks = StateField.define({
  create: () => ({ lines: Decoration.none, gutter: RangeSet.empty }),
  update(value, transaction) {
    if (transaction.docChanged) return { lines: Decoration.none, gutter: RangeSet.empty }; // (as the errors)
    for (const effect of transaction.effects) if (effect.is(setCoach)) value = effect.value;
    return value;
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.lines),
});

const coachGutter = gutter({
  class: "cm-coach-gutter",
  markers: (view) => view.state.field(coachMarks).gutter,
  initialSpacer: () => new CoachMarker("", ""),
});

export function createEditor(parent, text, onChange) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), indentOnInput(), bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle), python(), marks, coachMarks, coachGutter,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's accessible tab handling).
        keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap]),
        EditorView.updateListener.of((update) => { if (update.docChanged) onChange(update.state.doc.toString()); }),
        // tabindex: axe counts a contenteditable as focusable only when it says so.
        EditorView.contentAttributes.of({ "aria-label": "Your asyncio program", tabindex: "0" }),
      ],
    }),
  });
}

export function textOf(view) {
  return view.state.doc.toString();
}

export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

// Mark each error ({line, message}) at its line, with the message below it.
export function markErrors(view, errors) {
  const ranges = [];
  for (const error of errors) {
    if (!error.line || error.line > view.state.doc.lines) continue;
    const line = view.state.doc.line(error.line);
    ranges.push(Decoration.line({ class: "cm-error-line" }).range(line.from));
    ranges.push(Decoration.widget({ widget: new Message(`Line ${error.line}: ${error.message}`), block: true, side: 1 }).range(line.to));
  }
  view.dispatch({ effects: setMarks.of(Decoration.set(ranges, true)) });
  if (ranges.length) view.dispatch({ effects: EditorView.scrollIntoView(ranges[0].from, { y: "center" }) });
}

// Mark each coach message ({kind, line, title, advice}) at its line: the line's class, its title
// (the message, as a tooltip), a marker in the coach's gutter.
export function markCoach(view, messages) {
  const byLine = new Map();
  for (const message of messages) {
    if (!message.line || message.line > view.state.doc.lines) continue;
    byLine.set(message.line, [...(byLine.get(message.line) || []), message]);
  }
  const lines = [];
  const markers = [];
  for (const [number, here] of [...byLine].sort((a, b) => a[0] - b[0])) {
    const from = view.state.doc.line(number).from;
    const kinds = here.map((m) => m.kind).join(" ");
    const said = here.map((m) => plain(`Line ${number}: ${m.title}. ${m.advice}`)).join("\n");
    lines.push(Decoration.line({ class: "cm-coach-line", attributes: { title: said, "data-coach": kinds, "data-line": String(number) } })
      .range(from));
    markers.push(new CoachMarker(kinds, said, number).range(from));
  }
  view.dispatch({ effects: setCoach.of({ lines: Decoration.set(lines), gutter: RangeSet.of(markers) }) });
}
