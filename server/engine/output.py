"""The program's `sys.stdout` / `sys.stderr`: every line becomes a `stdout` event, tagged with the task that printed it."""

import codecs
import io
import os
import select
import threading

from . import helper_thread

_CHUNK = 8192  # longer lines are split: one huge print must not make one huge event


def _nobody():
    return None


class ProgramOutput(io.TextIOBase):
    def __init__(self, emitter, stream, fileno):
        self._emit = emitter.emit
        self._who_writes = _nobody  # until a tracer is told (`ask_who_writes`)
        self._stream = stream
        self._fileno = fileno  # the program's file descriptor for this stream (fd 1's writes: see RawOutput)
        self._pending = ""
        self._pending_task = None
        self.buffer = _BytesOutput(self)  # sys.stdout.buffer.write(b"...") works as in a plain run

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    @property
    def name(self):
        return f"<{self._stream}>"

    @property
    def line_buffering(self):
        return False

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
        task = self._who_writes()  # (a partial line is flushed once the callback ends, if no newline comes first)
        if self._pending and task != self._pending_task:
            self.flush_partial()
        self._pending_task = task
        self._pending += text
        if "\n" in self._pending or len(self._pending) >= _CHUNK:
            head, sep, tail = self._pending.rpartition("\n")
            if len(tail) >= _CHUNK:
                head, sep, tail = self._pending, "", ""
            self._pending = tail
            self.send(head + sep, task)
        return len(text)

    def ask_who_writes(self, who_writes):
        """From now on, each write asks `who_writes()` for the id of the task writing (None: no task)."""
        self._who_writes = who_writes

    def flush(self):
        self.flush_partial()

    def flush_partial(self):
        if self._pending:
            text, self._pending = self._pending, ""
            self.send(text, self._pending_task)

    def send(self, text, task):
        """Emit `text` as `stdout` events of `task`'s (a line, or a piece of a long one, each).

        Not a hook (see `instrument.py`): the program's output goes on once tracing stops."""
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


class RawOutput:
    """What the program writes straight to its file descriptor 1 (`os.write(1, ...)`, a pipe
    transport on `sys.stdout`, C code), read from the pipe that descriptor is and sent as
    `stdout` events of no task (no one can tell which task wrote). A thread of its own reads
    whenever something comes; the loop also takes what is there before it waits (`drain`), so
    such output shows up before the loop moves on, not at the thread's next turn."""

    def __init__(self, fd, text):
        self._fd = fd
        os.set_blocking(fd, False)
        self._text = text  # the ProgramOutput whose stream it joins
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._lock = threading.Lock()  # one reader at a time, so chunks keep their order

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
            self._text.send(text, None)

    def finish(self):
        """The program ended: close its descriptor 1 and send what is left in the pipe."""
        try:
            os.close(1)
        except OSError:
            pass
        self.drain()
