"""The sandboxed process: sets up its guards and the tracer, runs the program, reports how it ended.

It reads one JSON object (the run's configuration and the program's source)
from stdin and writes events to the pipe that was its stdout; the program's
own prints become `stdout` events, and so does what it writes straight to
file descriptor 1 (read back from a pipe of its own). What is written straight
to file descriptor 2 ends up on stderr, which the parent keeps for diagnosing
crashes.
"""

import base64
import errno
import json
import os
import sys
import traceback

from . import ending, frames


def main():
    config = _wait_for_the_run()
    event_fd = os.dup(1)
    raw_stdout, program_fd1 = os.pipe()  # the program's own file descriptor 1
    os.dup2(program_fd1, 1)
    os.close(program_fd1)
    if config.get("limits"):
        from .guard import few_malloc_arenas

        few_malloc_arenas()
    if config.get("tmp"):
        from .guard import mount_tmp

        mount_tmp(config["tmp"]["size"], config["tmp"]["files"])
    if config.get("program_on_disk"):  # (before dropping to the run's uid: its folder may be the sandbox's)
        from .program_file import put_on_disk

        config["path"] = put_on_disk(config["source"], config["filename"])
    if config.get("drop_to"):
        from .guard import drop_privileges

        drop_privileges(*config["drop_to"])
    if config.get("tmp") or config.get("drop_to"):
        from .guard import drop_capabilities

        drop_capabilities()
    if config.get("seccomp"):
        from .guard import install_seccomp

        install_seccomp(base64.b64decode(config["seccomp"]))
    run(config, event_fd, raw_stdout)


def _wait_for_the_run():
    """Load what every run needs, then read the run's configuration. The server keeps a few
    children started ahead (server/spares.py), each waiting here for the one run it will serve:
    the interpreter's start and these imports (most of a run's start) are then behind it."""
    import asyncio  # noqa: F401 - (before the clocks are virtualised: its internals keep real time)
    import signal  # noqa: F401

    from . import clock, emitter, guard, loop, output, program_file, sampler, tracer, warn  # noqa: F401

    return json.loads(sys.stdin.buffer.read())


def run(config, event_fd, raw_stdout=None):
    import asyncio  # noqa: F401 - imported before the clocks are virtualised, so its internals keep real time

    import signal

    from . import clock as clocks
    from . import loop, sampler, warn
    from .emitter import Emitter
    from .guard import install_audit_hook
    from .output import ProgramOutput, RawOutput, watch_signal_handlers
    from .program_file import ProgramFile
    from .tracer import Tracer

    filename = config["filename"]
    threshold = config.get("threshold", 0.05)
    clock = clocks.make(config.get("clock", "virtual"))
    emitter = Emitter(event_fd, clock, live=clock.name == "real")
    emitter.emit(
        "run.start", target=config["target"], blocking=bool(config.get("blocking")), clock=clock.name,
        python=".".join(map(str, sys.version_info[:3])), file=filename, threshold=threshold,
    )
    emitter.flush()  # at once: the runner then knows the sandbox started, whatever the program does next
    stdout, stderr = (ProgramOutput(emitter, name, fd, getattr(stream, "errors", "strict"))
                      for name, fd, stream in (("stdout", 1, sys.__stdout__), ("stderr", 2, sys.__stderr__)))
    sys.stdout, sys.stderr = stdout, stderr  # (before compiling: its SyntaxWarnings are the program's output)
    # In a plain run `sys.__stdout__ is sys.stdout`: what the program writes there is in its place among its
    # prints (the interpreter's own stream would hold it in a buffer of its own until flushed). Kept alive:
    # the interpreter's streams stay open on their descriptors.
    interpreter_streams = sys.__stdout__, sys.__stderr__  # noqa: F841
    sys.__stdout__, sys.__stderr__ = stdout, stderr
    raw = None if raw_stdout is None else RawOutput(raw_stdout, stdout)
    watch_signal_handlers(signal)
    tracer = None

    def leave(status, reason, exit_code):
        """Send what is left and `run.end`, then end the process (a plain `os._exit`: nothing else runs)."""
        if raw is not None:
            raw.finish()
        if tracer is not None:
            tracer.enabled = False
        emitter.emit("run.end", status=status, reason=reason, elapsed=clock.elapsed(), exit=exit_code)
        emitter.flush()
        ending.plain_exit(0)

    try:
        program = ProgramFile(config["source"], filename, config.get("path"))
    except (SyntaxError, ValueError) as exc:
        status, reason = report_compile_error(exc, emitter)
        exit_code = 1
    else:
        tracer = Tracer(emitter, clock, program, (stdout, stderr), raw, loop.Task, threshold)
        report_hints(config["source"], emitter)
        loop.install(tracer)
        warn.install(program, tracer)
        if config.get("blocking_sleep"):
            _make_sleep_block(asyncio)
        if raw is not None:
            raw.start()
        sampler.start(tracer)
        if config.get("audit", True):
            install_audit_hook()
        sys.argv = [config.get("argv0") or filename]  # as `python FILE` sets it
        ending.catch_os_exit(leave, (stdout, stderr))
        status, reason, exit_code = execute(program, tracer, config.get("limits") or {})
    # (still traced: atexit handlers, a task destroyed pending)
    ending.finish_like_python(stdout, stderr, program.globals if tracer is not None else None)
    leave(status, reason, exit_code)


def report_compile_error(exc, emitter):
    """The program does not compile: its `error` event; (status, reason) for `run.end`."""
    line = getattr(exc, "lineno", None)
    message = f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}"
    text = "".join(traceback.format_exception_only(type(exc), exc))
    emitter.emit("error", message=message, line=line, traceback=text)
    where = f" on line {line}" if line else ""
    return "error", f"The program does not compile{where}: {message}"


def report_hints(source, emitter):
    """`program.hint` events: what reading the program before it runs finds (see `hints.py`)."""
    from .hints import hints

    try:
        found = hints(source)
    except Exception:  # noqa: BLE001 - a hint is a nicety: the program runs whatever happens here
        return
    for hint, line, text in found:
        emitter.emit("program.hint", hint=hint, line=line, text=text)


def execute(program, tracer, limits):
    """Run the compiled program as `__main__`; (status, reason, exit status) for `run.end`."""
    sys.modules["__main__"] = program.module
    frames.install(sys._getframe())  # (from here on: the program runs below this frame)
    try:
        exec(program.code, program.globals)
    except SystemExit as exc:
        from .describe import shown

        code = shown(exc, lambda e: e.code, None)  # (read safely: it is the program's object)
        status = ending.exit_status(code)
        if code is not None and not isinstance(code, int):  # as Python does: the object is printed
            print(shown(code, str), file=sys.stderr)
        if status == 0:
            return "ok", "The program exited with sys.exit().", 0
        return "error", f"The program exited with status {shown(code)}.", status
    except BaseException as exc:  # noqa: BLE001 - whatever the program raised is reported, not re-raised
        # (an uncaught KeyboardInterrupt: Python ends itself with SIGINT, which a parent sees as -2)
        status = -2 if isinstance(exc, KeyboardInterrupt) else 1
        return (*report_exception(exc, program.filename, tracer, limits), status)
    return "ok", "The program finished.", 0


def report_exception(exc, filename, tracer, limits):
    from .describe import shown

    try:
        frames = [f for f in traceback.extract_tb(shown(exc, lambda e: e.__traceback__, None))
                  if f.filename == filename]
    except BaseException:  # noqa: BLE001 - a traceback the program forged
        frames = []
    lines = ["Traceback (most recent call last):\n"] if frames else []
    text = shown(exc, str)
    try:
        lines += traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    except BaseException:  # noqa: BLE001 - its __str__ raised something traceback does not catch
        lines += [f"{type(exc).__name__}: {text}\n"]
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    line = frames[-1].lineno if frames else None
    tracer.emitter.emit("error", message=message, line=line, traceback="".join(lines))
    where = f" on line {line}" if line else ""
    broken = broken_limit(exc, limits)
    if broken:
        return "limit", f"The program {broken[0]}{where}: {broken[1]}."
    if isinstance(exc, RecursionError):
        return "error", f"The program recursed too deeply{where}."
    return "error", f"The program raised {message}{where}."


def broken_limit(exc, limits):
    """(what the program did, which limit says no) when `exc` is the sandbox's limit speaking, else None."""
    if not limits:  # the engine run without the runner (tests): the runner's defaults
        from ..sandbox import Limits

        limits = Limits().for_child()

    def mib(name):
        return f"{limits.get(name, 0) // 2**20} MiB"

    from .describe import shown

    number = shown(exc, lambda e: getattr(e, "errno", None), None)  # (the program's object: read safely)
    number = number if type(number) is int else None
    if isinstance(exc, MemoryError) or number == errno.ENOMEM:
        return "ran out of memory", f"the sandbox allows {mib('memory')}"
    if not isinstance(exc, OSError):
        return None
    path = shown(exc, lambda e: e.filename, None)
    elsewhere = path is not None and not shown(path, str).startswith("/tmp")
    if number in (errno.ENOSPC, errno.EDQUOT) and not elsewhere:
        return ("filled the sandbox's /tmp",
                f"it holds at most {mib('tmp_size')} in at most {limits.get('tmp_files', 0):,} files and folders")
    if number == errno.EFBIG:
        return "wrote a file that is too large", f"a file may hold at most {mib('file_size')}"
    if number == errno.EMFILE:
        return "opened too many files or sockets", f"at most {limits.get('open_files', 0)} may be open at once"
    return None


def _make_sleep_block(asyncio):
    """Blocking mode for the user's own code: `await asyncio.sleep(x)` holds the loop like `time.sleep(x)`."""
    import time

    async def sleep(delay, result=None):
        time.sleep(delay)
        return result

    asyncio.sleep = sleep
    asyncio.tasks.sleep = sleep


if __name__ == "__main__":
    main()
