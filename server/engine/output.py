"""The program's `sys.stdout` / `sys.stderr`: every line becomes a `stdout` event, tagged with the task that printed it.

Output keeps the order a plain run prints it in: what was written straight to file descriptor 1
is sent before any line printed after it (`before_send`), and a signal handler that prints in
the middle of a print (Python runs handlers between calls, on the main thread, and these
streams are Python code) is written after the line being printed, as if a plain run's print
(one C call no handler can enter) had finished first.
"""

import codecs
import io
import itertools
import os
import select
import threading

from . import helper_thread

_CHUNK = 8192  # longer lines are split: one huge print must not make one huge event
_HELD = 10_000  # writes of signal handlers held back at most, waiting for a line to end
_get_ident = threading.get_ident
_MAIN_THREAD = threading.main_thread().ident  # the one thread signal handlers run on
# The program's signal handlers running now, innermost last, each a number of its own. (Which code a
# handler interrupted cannot be told: one that runs as our write() begins sees the caller's frame.)
_handlers = []
_handler_numbers = itertools.count(1)


def _writer():
    """Who writes on the main thread: the innermost signal handler running, or 0 (the program itself)."""
    return _handlers[-1] if _handlers else 0


def _nobody():
    return None


class ProgramOutput(io.TextIOBase):
    def __init__(self, emitter, stream, fileno, errors="strict"):
        """`errors`: what the interpreter's own stream says (it follows the locale, e.g. `surrogateescape`
        under C.UTF-8)."""
        self._emit = emitter.emit
        self._errors = errors
        self._who_writes = _nobody  # until a tracer is told (`ask_who_writes`)
        self._stream = stream
        self._fileno = fileno  # the program's file descriptor for this stream (fd 1's writes: see RawOutput)
        self._pending = ""
        self._pending_task = None
        self._pending_writer = 0  # who began the pending line (see `_writer`)
        self._busy = False  # the main thread is inside write() or flush()
        self._interrupting = []  # what a signal handler wrote meanwhile, written once the line is done
        self.before_send = None  # called before each line is sent (RawOutput's drain, for stdout)
        self.buffer = _BytesOutput(self)  # sys.stdout.buffer.write(b"...") works as in a plain run

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return self._errors

    @property
    def name(self):
        return f"<{self._stream}>"

    @property
    def mode(self):
        return "w"

    def __repr__(self):
        return f"<_io.TextIOWrapper name={self.name!r} mode='w' encoding='utf-8'>"

    @property
    def line_buffering(self):
        return self._stream == "stderr"  # (as Python's own, writing to a pipe: stderr always line by line)

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fileno

    def reconfigure(self, *, encoding=None, errors=None, newline=None, line_buffering=None, write_through=None):
        """Accepted and ignored, as far as it can be: every line is sent as it is written anyway."""
        if encoding not in (None, "utf-8", "utf8", "UTF-8"):
            raise ValueError(f"Loopscope's {self.name} writes UTF-8 only, not {encoding!r}")

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        main = _get_ident() == _MAIN_THREAD
        return self._write(text, main, _writer() if main else 0)

    def _write(self, text, main, writer):
        if main and self._interrupted(writer):
            self._interrupting.append((writer, text))
            return len(text)
        if main:
            self._busy = True
        try:
            task = self._who_writes()  # (a partial line is flushed once the callback ends, if no newline comes first)
            if self._pending and task != self._pending_task:
                self.flush_partial()
            if not self._pending:
                self._pending_writer = writer
            self._pending_task = task
            self._pending += text
            if "\n" in self._pending or len(self._pending) >= _CHUNK:
                head, sep, tail = self._pending.rpartition("\n")
                if len(tail) >= _CHUNK:
                    head, sep, tail = self._pending, "", ""
                self._pending = tail
                self.send(head + sep, task)
        finally:
            if main:
                self._busy = False
        if self._interrupting and main and not self._pending:
            self._write_interrupting()
        return len(text)

    def _interrupted(self, writer):
        """On the main thread: `writer` is a signal handler that runs in the middle of this stream's own
        work, or of a line someone else was printing (a print of several values is several writes)."""
        if len(self._interrupting) >= _HELD:  # (a line that never ends: the order gives way to memory)
            return False
        return self._busy or bool(writer and self._pending and writer != self._pending_writer)

    def _write_interrupting(self):
        """Write what signal handlers wrote while this stream was busy (the line it was writing is done),
        each by its handler: one that interrupted another's print follows that line."""
        texts, self._interrupting = self._interrupting, []
        for writer, text in texts:
            self._write(text, True, writer)

    def ask_who_writes(self, who_writes):
        """From now on, each write asks `who_writes()` for the id of the task writing (None: no task)."""
        self._who_writes = who_writes

    def flush(self):
        main = _get_ident() == _MAIN_THREAD
        if main and self._interrupted(_writer()):  # (a signal handler's flush: what it wrote follows the line)
            return
        if main:
            self._busy = True
        try:
            self.flush_partial()
        finally:
            if main:
                self._busy = False
        if self._interrupting and main:
            self._write_interrupting()

    def flush_partial(self):
        if self._pending:
            text, self._pending = self._pending, ""
            self.send(text, self._pending_task)
        if self._interrupting and not self._busy and _get_ident() == _MAIN_THREAD:  # (after a callback)
            self._write_interrupting()

    def send(self, text, task):
        """Emit `text` as `stdout` events of `task`'s (a line, or a piece of a long one, each), after
        what was written to the stream's descriptor before it.

        Not a hook (see `instrument.py`): the program's output goes on once tracing stops."""
        if self.before_send is not None:
            self.before_send()
        self.emit_lines(text, task)

    def emit_lines(self, text, task):
        emit = self._emit
        for line in text.splitlines(keepends=True):
            for start in range(0, len(line), _CHUNK):
                emit("stdout", text=line[start:start + _CHUNK], task=task, stream=self._stream)


class _BytesOutput(io.BufferedIOBase):
    """The `buffer` under a ProgramOutput: bytes written are UTF-8 text (a character split
    between two writes is joined; undecodable bytes read as U+FFFD)."""

    def __init__(self, text):
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @property
    def name(self):
        return self._text.name

    @property
    def mode(self):
        return "wb"

    def __repr__(self):
        return f"<_io.BufferedWriter name={self.name!r}>"

    def writable(self):
        return True

    def write(self, data):
        if isinstance(data, str):
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
        data = memoryview(data).cast("B")
        text = self._decoder.decode(data)
        if text:
            self._text.write(text)
        return len(data)

    def flush(self):
        self._text.flush()

    def fileno(self):
        return self._text.fileno()


# `type(sys.stdout)` reads as in a plain run (isinstance(sys.stdout, io.TextIOWrapper) is still false).
for _class, _name in ((ProgramOutput, "TextIOWrapper"), (_BytesOutput, "BufferedWriter")):
    _class.__module__, _class.__name__, _class.__qualname__ = "_io", _name, _name


class RawOutput:
    """What the program writes straight to its file descriptor 1 (`os.write(1, ...)`, a pipe
    transport on `sys.stdout`, C code), read from the pipe that descriptor is and sent as
    `stdout` events of no task (no one can tell which task wrote). A thread of its own reads
    whenever something comes; the loop also takes what is there before it waits (`drain`), so
    such output shows up before the loop moves on, not at the thread's next turn."""

    def __init__(self, fd, text):
        self._fd = fd
        os.set_blocking(fd, False)
        self._text = text  # the ProgramOutput whose stream it joins: each of its lines drains this first
        text.before_send = self.drain
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        # One reader at a time, so chunks keep their order. Re-entrant: a signal handler may print
        # (and so drain) while its thread drains.
        self._lock = threading.RLock()

    def start(self):
        helper_thread.start(self._forward)

    def _forward(self):
        while True:
            try:
                select.select([self._fd], [], [])
            except (OSError, ValueError):  # closed
                return
            if not self.drain():
                return

    def drain(self):
        """Send what has been written so far; False once the program's end of the pipe is closed."""
        with self._lock:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not chunk:
                    self._send(self._decoder.decode(b"", final=True))
                    return False
                self._send(self._decoder.decode(chunk))

    def _send(self, text):
        if text:
            self._text.emit_lines(text, None)

    def finish(self):
        """The program ended: close its descriptor 1 and send what is left in the pipe."""
        try:
            os.close(1)
        except OSError:
            pass
        self.drain()


def watch_signal_handlers(signal):
    """Count the program's signal handlers while they run (see `ProgramOutput.write`): `signal.signal`
    installs a handler wrapped, and it and `signal.getsignal` give back the program's own."""
    plain_signal, plain_getsignal = signal.signal, signal.getsignal

    def counted(handler):
        def handle(signum, frame):
            _handlers.append(next(_handler_numbers))
            try:
                return handler(signum, frame)
            finally:
                _handlers.pop()

        handle._loopscope_handler = handler
        return handle

    def unwrapped(handler):
        return getattr(handler, "_loopscope_handler", handler) if callable(handler) else handler

    def signal_(signalnum, handler):
        return unwrapped(plain_signal(signalnum, counted(handler) if callable(handler) else handler))

    def getsignal(signalnum):
        return unwrapped(plain_getsignal(signalnum))

    for replacement, plain in ((signal_, plain_signal), (getsignal, plain_getsignal)):
        replacement.__name__ = replacement.__qualname__ = plain.__name__
        replacement.__module__, replacement.__doc__ = plain.__module__, plain.__doc__
    signal.signal, signal.getsignal = signal_, getsignal
