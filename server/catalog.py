"""The scenario catalogue: plain Python files in `server/scenarios/`.

A scenario file is an ordinary asyncio program. Its docstring holds the title
(first line) and the explanation (the rest; its first paragraph is the
summary). File names start with a number that orders the catalogue; the id is
the rest of the name, with dashes: `04_tasks.py` is `tasks`.

Blocking variants are written in the same file: a line ending in
`# blocking: <statement>` runs `<statement>` instead, at the same place, in
blocking mode. The marker comments are removed from both variants, so the
source a user is shown for a mode is exactly the source that runs in it.
"""

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
_MARKER = re.compile(r"^(?P<indent>\s*)(?P<code>.*?)\s*#\s*blocking:\s*(?P<blocking>.+?)\s*$")

NON_BLOCKING = "non-blocking"
BLOCKING = "blocking"


class UnknownScenario(KeyError):
    pass


class NoBlockingVariant(ValueError):
    pass


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    explanation: str
    text: str  # the file as written, markers included

    @property
    def summary(self):
        return self.explanation.split("\n\n")[0].replace("\n", " ")

    @property
    def filename(self):
        return self.id.replace("-", "_") + ".py"

    @property
    def modes(self):
        return [NON_BLOCKING, BLOCKING] if _has_markers(self.text) else [NON_BLOCKING]

    def source(self, blocking=False):
        """The program that runs in the given mode."""
        if blocking and not _has_markers(self.text):
            raise NoBlockingVariant(f"scenario {self.id!r} has no blocking variant")
        lines = []
        for line in self.text.splitlines():
            match = _MARKER.match(line)
            if match:
                line = match["indent"] + (match["blocking"] if blocking else match["code"])
            lines.append(line)
        return "\n".join(lines) + "\n"

    def as_json(self):
        return {
            "id": self.id, "title": self.title, "summary": self.summary, "explanation": self.explanation,
            "modes": self.modes, "filename": self.filename,
            "source": {mode: self.source(mode == BLOCKING) for mode in self.modes},
        }


def _has_markers(text):
    return any(_MARKER.match(line) for line in text.splitlines())


def _load(path):
    text = path.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    title, _, explanation = doc.partition("\n")
    scenario_id = path.stem.split("_", 1)[1].replace("_", "-")
    return Scenario(id=scenario_id, title=title.strip(), explanation=explanation.strip(), text=text)


@lru_cache(maxsize=1)
def scenarios():
    """All scenarios, in catalogue order, by id."""
    return {s.id: s for s in map(_load, sorted(SCENARIO_DIR.glob("[0-9]*_*.py")))}


def get(scenario_id):
    try:
        return scenarios()[scenario_id]
    except KeyError:
        raise UnknownScenario(scenario_id) from None
