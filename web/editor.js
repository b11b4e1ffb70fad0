// The code editor for your own programs: CodeMirror 6 (vendored, see vendor/README.md) with Python
// highlighting, line numbers, undo, auto-indentation, and the run's errors marked at their lines.
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, WidgetType, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
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

export function createEditor(parent, text, onChange) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), indentOnInput(), bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle), python(), marks,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's accessible tab handling).
        keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap]),
        EditorView.updateListener.of((update) => { if (update.docChanged) onChange(update.state.doc.toString()); }),
        EditorView.contentAttributes.of({ "aria-label": "Your asyncio program" }),
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
