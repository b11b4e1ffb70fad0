"""The program's world: sys.stdout and sys.stderr say what a plain run's say (in a UTF-8 locale, output
to a pipe)."""

import sys

for stream in (sys.stdout, sys.stderr):
    print(stream.name, stream.mode, stream.encoding, stream.errors, stream.line_buffering, stream.fileno())
    print(" ", stream.writable(), stream.readable(), stream.closed)
print("stdout is a pipe:", not sys.stdout.seekable(), not sys.stdout.isatty())
print(repr(sys.stdout))
print(repr(sys.stderr))
print(type(sys.stdout).__name__, type(sys.stdout.buffer).__name__)
print(repr(sys.stdout.buffer), sys.stdout.buffer.mode, sys.stdout.buffer.name)
print("sys.__stdout__ is sys.stdout:", sys.__stdout__ is sys.stdout)
print("sys.__stderr__ is sys.stderr:", sys.__stderr__ is sys.stderr)
