"""The program a run traces, compiled: its file name, its code, the module it runs as, what it defines.

Made before the tracer, which is given it: the tracer tells the program's frames from
asyncio's (and Loopscope's) by the module namespace they run in, and its names from
library ones by the qualified names its file defines.
"""

import linecache
import os
import types


def put_on_disk(source, filename):
    """Write the program's file where `python FILE` would find it (a relative name in the working
    folder, /tmp), so that a program that reads its own source works; its absolute path, or None."""
    path = os.path.abspath(filename)  # (as Python 3.9+ gives `__file__`)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(source)
    except (OSError, ValueError, UnicodeError):
        return None
    return path


class ProgramFile:
    def __init__(self, source, filename, path=None):
        """Compile `source` as the file `filename`; raises SyntaxError or ValueError as `compile` does.
        `path`: where its file is on the sandbox's disk (its `__file__`), if it is there."""
        self.filename = filename
        self.source = source
        self.code = compile(source, filename, "exec")
        self.module = types.ModuleType("__main__")
        self.module.__file__ = path or filename
        self.globals = self.module.__dict__  # (tells the program's frames apart: frame.f_globals is it)
        self.names = frozenset(_qualified_names(self.code))  # every function, class and comprehension, at any depth
        # Tracebacks quote the program's lines, as in a plain run (its file is not on the sandbox's disk).
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _qualified_names(code):
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield getattr(const, "co_qualname", const.co_name)
            yield from _qualified_names(const)
