"""Likely mistakes found by reading the program before it runs (`program.hint` events).

One so far: a task created by a statement of its own, its result thrown away
(`asyncio.create_task(work())`). The loop keeps only a weak reference to a task,
so one that nobody holds may be garbage-collected before it finishes ("Task was
destroyed but it is pending!") — and nobody can await it, cancel it or hear of
its exception. `tg.create_task(...)` on a task group (anything an `async with`
names) is how task groups are meant to be used, and is left alone.

Cheap: the source is parsed only when it mentions `create_task` or `ensure_future`
(0.6-0.8 ms for a scenario's 1-1.5 KB here, after `run.start` has gone out).
"""

import ast  # (asyncio imports it anyway)

_CREATORS = ("create_task", "ensure_future")


def hints(source):
    """[(hint, line, text)] for `source`, in line order."""
    if not any(name in source for name in _CREATORS):
        return []
    tree = ast.parse(source)
    groups = set()  # names an `async with` binds or enters: task groups, nurseries
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncWith):
            for item in node.items:
                for part in (item.context_expr, item.optional_vars):
                    if isinstance(part, ast.Name):
                        groups.add(part.id)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _drops_a_task(node.value, groups):
            text = " ".join((ast.get_source_segment(source, node.value) or ast.unparse(node.value)).split())
            found.append(("dropped_task", node.lineno, text))
    return sorted(found, key=lambda hint: hint[1])


def _drops_a_task(call, groups):
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _CREATORS
    if not isinstance(func, ast.Attribute) or func.attr not in _CREATORS:
        return False
    return not (isinstance(func.value, ast.Name) and func.value.id in groups)
