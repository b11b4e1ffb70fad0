"""A failing hook never changes the program: every hook of `instrument.HOOKS`, broken in turn."""

import ast
import subprocess
import sys

import pytest

from conftest import PROGRAMS, ROOT, of_kind, run_engine_unsandboxed, stdout_of
from server.engine import instrument
from server.engine.describe import Describer
from server.engine.tracer import Tracer

PROGRAM = PROGRAMS / "every_hook.py"
ENGINE = ROOT / "server" / "engine"

# How to break a hook that is not the Tracer method of its name: something only it calls.
BREAK_IN_PLACE = {
    "handle_queued": "hooks._pack_step_schedule",
    "before_callback": "hooks._pack_begin",
    "after_callback": "hooks._pack_suspended",
    "sample_long_callback": "sampler._look",
}


@pytest.fixture(scope="module")
def plain():
    """The program's (stdout, stderr) run by plain Python, its path in tracebacks written as
    the traced run's (`every_hook.py`)."""
    done = subprocess.run([sys.executable, str(PROGRAM)], capture_output=True, text=True, timeout=60,
                          env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.replace(str(PROGRAM), PROGRAM.name)


def test_the_program_exercises_the_loop_and_traces_cleanly(plain):
    events = run_engine_unsandboxed(PROGRAM.read_text(), PROGRAM.name)
    assert not of_kind(events, "error")
    assert (stdout_of(events), stdout_of(events, "stderr")) == plain
    assert "ValueError: a callback failed" in plain[1] and "to stderr\n" in plain[1]


@pytest.mark.parametrize("hook", list(instrument.HOOKS))
def test_a_failing_hook_reports_once_and_the_program_runs_as_a_plain_one(hook, plain):
    target = BREAK_IN_PLACE.get(hook, f"tracer.Tracer.{hook}")
    prelude = ("from server.engine import hooks, sampler, tracer\n"
               "def broken(*args):\n"
               "    raise RuntimeError('hook exploded')\n"
               f"{target} = broken\n")
    events = run_engine_unsandboxed(PROGRAM.read_text(), PROGRAM.name, prelude=prelude)
    [error] = of_kind(events, "error")
    assert error["message"] == (f"Loopscope's tracer failed in {hook} (RuntimeError: hook exploded); "
                                "the trace stops here, the program goes on.")
    assert error["traceback"] == "" and error["line"] is None
    assert (stdout_of(events), stdout_of(events, "stderr")) == plain
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"


class _Tracing:
    enabled = True

    def __init__(self):
        self.failures = []

    def fail(self, where, exc):
        self.failures.append((where, type(exc)))
        self.enabled = False


def test_a_guarded_hook_that_raises_is_never_called_again():
    calls = []

    def hook(value):
        calls.append(value)
        raise ValueError(value)

    tracer = _Tracing()
    guarded = instrument.guard(tracer, "on_thing", hook)
    assert guarded(1) is None and guarded(2) is None
    assert calls == [1] and tracer.failures == [("on_thing", ValueError)]


def test_a_keyboard_interrupt_during_a_hook_goes_on_to_the_program():
    def hook():
        raise KeyboardInterrupt

    tracer = _Tracing()
    with pytest.raises(KeyboardInterrupt):
        instrument.guard(tracer, "on_thing", hook)()
    assert tracer.enabled and not tracer.failures


def test_the_guarded_hooks_are_the_tracer_methods_of_the_table():
    hooks = instrument.Hooks(Tracer.__new__(Tracer))
    assert set(vars(hooks)) == set(instrument.HOOKS) - set(instrument.IN_PLACE)
    assert all(callable(getattr(Tracer, name, None)) for name in vars(hooks))
    assert set(instrument.IN_PLACE) <= set(instrument.HOOKS)


def _literal_names(call):
    if isinstance(call.func, ast.Attribute) and call.func.attr == "fail" and call.args:
        first = call.args[0]
    elif isinstance(call.func, ast.Name) and call.func.id == "guard" and len(call.args) > 1:
        first = call.args[1]
    else:
        return []
    return [first.value] if isinstance(first, ast.Constant) else []


def test_the_hooks_guarded_in_place_report_under_their_names_in_the_table():
    named = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                named.update(_literal_names(node))
    assert named == set(instrument.IN_PLACE)


# The tracer's own code, and what it may call: the methods of Tracer and Describer, and the
# emitter's writers (which code holds as `emit`, `hot`, ... too).
_METHODS = {name for cls in (*Tracer.__mro__[:-1], Describer) for name in vars(cls) if callable(vars(cls)[name])
            and not name.startswith("__")}
_WRITERS = {"emit", "line", "hot", "string"}
# Not program-facing: the tracer itself, the guard, the emitter, and the child (it sets up the run
# before the program starts, and reports its end after).
_NOT_SCANNED = {"tracer.py", "object_hooks.py", "describe.py", "instrument.py", "emitter.py", "child.py"}
_DELIVERY = {("output.py", "emit_lines")}  # the program's own output: not a hook (see instrument.py)


def _callee(func):
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _through_hooks(func):
    """`_HOOKS.x(...)`, `self._hooks.x(...)`, `tracer.hooks.x(...)`."""
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    return (isinstance(owner, ast.Name) and owner.id == "_HOOKS") or (
        isinstance(owner, ast.Attribute) and owner.attr in ("hooks", "_hooks"))


def _reports_failure(handler):
    return any(isinstance(node, ast.Call) and _callee(node.func) == "fail" for node in ast.walk(handler))


def _unguarded(path):
    """Calls into the tracer in `path` that no guard covers: neither through the guarded hooks,
    nor inside a `try` whose handler reports with `fail` (the guards in place)."""
    found = []

    def visit(node, guarded, handler, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            guarded, handler, function = False, False, node.name  # (a closure runs later, elsewhere)
        if isinstance(node, ast.Try) and any(_reports_failure(h) for h in node.handlers):
            for child in node.body:
                visit(child, True, handler, function)
            for child in node.handlers:
                visit(child, guarded, True, function)
            for child in node.orelse + node.finalbody:
                visit(child, guarded, handler, function)
            return
        if isinstance(node, ast.Call):
            name = _callee(node.func)
            if name in _METHODS or name in _WRITERS:
                allowed = (guarded or _through_hooks(node.func) or (path.name, function) in _DELIVERY
                           or (name == "fail" and handler))
                if not allowed:
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
        for child in ast.iter_child_nodes(node):
            visit(child, guarded, handler, function)

    visit(ast.parse(path.read_text()), False, False, None)
    return found


def test_the_engine_calls_the_tracer_only_through_its_guarded_hooks():
    """So a new hook cannot skip the guard: it has to be in the table to be called at all."""
    scanned = [path for path in sorted(ENGINE.glob("*.py")) if path.name not in _NOT_SCANNED]
    assert {"loop.py", "hooks.py", "output.py", "idle.py", "sampler.py"} <= {path.name for path in scanned}
    assert [call for path in scanned for call in _unguarded(path)] == []


# Objects whose __repr__ / __str__ raise what `Exception` does not catch: the tracer describes them
# (a plain run never calls them), so whatever they raise must stay with the tracer.
HOSTILE_OBJECTS = {
    "repr raises BaseException": """
import asyncio
class Boom(BaseException):
    pass
class Result:
    def __repr__(self):
        raise Boom()
async def child():
    return Result()
async def main():
    result = await asyncio.create_task(child())
    print("got", type(result).__name__)
try:
    asyncio.run(main())
except BaseException as exc:
    print("the program saw", type(exc).__name__)
print("done")
""",
    "str raises SystemExit": """
import asyncio
class Odd(Exception):
    def __str__(self):
        raise SystemExit(3)
    __repr__ = __str__
async def child():
    raise Odd()
async def main():
    try:
        await asyncio.create_task(child())
    except Odd:
        print("caught Odd")
asyncio.run(main())
print("done")
""",
    "traceback property raises SystemExit": """
import asyncio
class Odd(Exception):
    @property
    def __traceback__(self):
        raise SystemExit("tb")
async def boom():
    raise Odd()
async def main():
    try:
        await asyncio.create_task(boom())
    except Odd:
        print("caught Odd")
    print("end")
asyncio.run(main())
""",
}


@pytest.mark.parametrize("name", list(HOSTILE_OBJECTS))
def test_objects_whose_repr_raises_anything_leave_the_program_as_it_is(name, tmp_path):
    source = HOSTILE_OBJECTS[name]
    path = tmp_path / "hostile.py"
    path.write_text(source)
    plain = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60).stdout
    events = run_engine_unsandboxed(source)
    assert stdout_of(events) == plain
    assert events[-1]["status"] == "ok", events[-1]
