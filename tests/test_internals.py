"""asyncio's private attributes are touched in engine/internals.py and nowhere else in the engine.

They change between Python versions without notice; kept in one module, they are
checked in one place (see its docstring for the versions) when a new Python comes.
"""

import ast
import asyncio
import concurrent.futures
from pathlib import Path

from conftest import ROOT

ENGINE = ROOT / "server" / "engine"


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def asyncio_private_names():
    """Every private name asyncio (and concurrent.futures) defines or reads: attributes, methods, classes."""
    names = set()
    for package in (asyncio, concurrent.futures):
        for path in Path(package.__file__).parent.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return {name for name in names if _private(name)}


def engine_own_names():
    """Private names the engine gives its own objects (attributes set on self, slots, its functions)."""
    own = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                own.add(node.attr)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and any(getattr(t, "id", None) == "__slots__" for t in item.targets):
                        own.update(c.value for c in ast.walk(item.value) if isinstance(c, ast.Constant))
    return own


def private_uses(tree, private):
    """(line, name) of each read of a private asyncio name in `tree`: an attribute (not of `sys` or
    `os`), a method defined in a class (an override), a name bound in a class body."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("sys", "os")):
                yield node.lineno, node.attr
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in private:
                    yield item.lineno, item.name
                elif isinstance(item, ast.Assign):
                    for target in item.targets:
                        if isinstance(target, ast.Name) and target.id in private:
                            yield item.lineno, target.id
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "setattr", "hasattr") \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in private:
            yield node.lineno, node.args[1].value


def test_only_internals_touches_asyncios_private_attributes():
    private = asyncio_private_names() - engine_own_names()
    found = [f"{path.name}:{line}: {name}"
             for path in sorted(ENGINE.glob("*.py")) if path.name != "internals.py"
             for line, name in private_uses(ast.parse(path.read_text()), private)]
    assert found == [], "move these into engine/internals.py:\n" + "\n".join(found)


def test_the_check_sees_each_kind_of_private_use():
    private = asyncio_private_names()
    source = ("class Loop(x):\n    def _run_once(self):\n        pass\n    _loop_factory = None\n"
              "task._fut_waiter\ngetattr(handle, '_callback')\nsys._getframe()\n")
    assert sorted(name for _, name in private_uses(ast.parse(source), private)) == [
        "_callback", "_fut_waiter", "_loop_factory", "_run_once"]
