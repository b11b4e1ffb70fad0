"""Hostile programs fail inside the sandbox, with a readable error, and leave nothing behind."""

import os
import socket
from pathlib import Path

import pytest

from conftest import EVENT_PIPE, of_kind, stdout_of, trace
from server.events import wire
from server import sandbox

pytestmark = pytest.mark.usefixtures("no_leftovers")


def errors(events):
    return [e["message"] for e in of_kind(events, "error")]


def test_the_host_provides_the_full_sandbox():
    support = sandbox.detect()
    assert support.full, support.describe()


def test_endless_loop_ends_with_a_timeout_that_names_the_limit():
    events = trace("while True:\n    pass\n", timeout=2)
    assert events[-1]["status"] == "timeout"
    assert "2 s" in events[-1]["reason"]


def test_endless_loop_inside_a_task_times_out():
    source = "import asyncio\nasync def spin():\n    while True:\n        pass\nasyncio.run(spin())\n"
    events = trace(source, timeout=2)
    assert events[-1]["status"] == "timeout"
    assert of_kind(events, "handle.begin")  # the step that never ended was reported live


def test_memory_bomb_hits_the_memory_limit():
    events = trace("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 * 1024))\n")
    assert events[-1]["status"] == "limit"
    assert "memory" in events[-1]["reason"]


def test_writing_outside_the_sandbox_fails_and_writes_nothing():
    target = Path("/var/tmp/loopscope-escape-test.txt")  # writable on the host, outside the sandbox's /tmp
    target.unlink(missing_ok=True)
    events = trace(f"open({str(target)!r}, 'w').write('x')\n")
    assert events[-1]["status"] == "error"
    assert "only files under /tmp can be written" in errors(events)[0]
    assert not target.exists()


def test_writing_through_os_open_is_refused_by_the_file_system():
    source = "import os\nos.open('/usr/escaped', os.O_WRONLY | os.O_CREAT)\n"
    events = trace(source)
    assert events[-1]["status"] == "error"
    assert not os.path.exists("/usr/escaped")


def test_host_files_are_not_visible():
    events = trace("print(open('/etc/passwd').read())\n")
    assert events[-1]["status"] == "error"
    assert errors(events) == ["FileNotFoundError: [Errno 2] No such file or directory: '/etc/passwd'"]


def test_tmp_inside_the_sandbox_is_writable():
    source = "with open('/tmp/notes.txt', 'w') as notes:\n    notes.write('hi')\nprint(open('/tmp/notes.txt').read())\n"
    events = trace(source)
    assert stdout_of(events) == "hi\n"


def test_connecting_to_a_port_on_the_host_fails():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        events = trace(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody got through
    assert events[-1]["status"] == "error"
    assert errors(events) == ["ConnectionRefusedError: [Errno 111] Connection refused"]


def test_connecting_outside_gets_a_plain_message():
    events = trace("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=2)\n")
    assert "no network outside the sandbox" in errors(events)[0]


def test_loopback_inside_the_sandbox_works():
    source = (
        "import socket\nserver = socket.create_server(('127.0.0.1', 0))\n"
        "client = socket.create_connection(server.getsockname())\nconn, _ = server.accept()\n"
        "client.sendall(b'ping')\nprint(conn.recv(4).decode())\n"
    )
    assert stdout_of(trace(source)) == "ping\n"


def test_spawning_a_process_is_refused():
    events = trace("import subprocess\nsubprocess.run(['ls', '/'])\n")
    assert "starting or replacing a process is not allowed" in errors(events)[0]


@pytest.mark.parametrize("call", ["os.fork()", "os.system('ls')", "os.execv('/usr/bin/ls', ['ls'])"])
def test_forking_and_exec_are_refused(call):
    events = trace(f"import os\n{call}\n")
    assert events[-1]["status"] == "error"
    assert "starting or replacing a process is not allowed" in errors(events)[0]


def test_seccomp_stops_fork_and_exec_even_behind_the_audit_hook():
    source = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print('fork', libc.syscall(57), ctypes.get_errno())\n"
        "print('execve', libc.execve(b'/usr/bin/ls', None, None), ctypes.get_errno())\n"
    )
    events = trace(source)
    assert stdout_of(events) == "fork -1 1\nexecve -1 1\n"  # EPERM


def test_killing_the_parent_is_refused():
    source = f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\n"
    events = trace(source)
    assert "sending signals to processes is not allowed" in errors(events)[0]
    source = f"import ctypes\nprint(ctypes.CDLL(None, use_errno=True).kill({os.getpid()}, 9), ctypes.get_errno())\n"
    assert stdout_of(trace(source)) == "-1 1\n"


def test_a_program_may_signal_itself_the_way_that_stays_inside():
    """asyncio's signal handlers can be shown: raise_signal works, os.kill says to use it."""
    source = (
        "import asyncio, os, signal\n"
        "async def main():\n"
        "    got = asyncio.Event()\n"
        "    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, got.set)\n"
        "    signal.raise_signal(signal.SIGUSR1)\n"
        "    await got.wait()\n"
        "    print('handled')\n"
        "    os.kill(os.getpid(), signal.SIGUSR1)\n"
        "asyncio.run(main())\n"
    )
    events = trace(source)
    assert stdout_of(events) == "handled\n"
    assert "use signal.raise_signal()" in errors(events)[0] and events[-1]["status"] == "error"


def test_the_child_finds_the_engine_compiled():
    """Starting a run writes the engine's bytecode (the child only reads it: quicker starts)."""
    import importlib.util

    compiled = {module: Path(importlib.util.cache_from_source(str(sandbox.PROJECT_ROOT / module)))
                for module in ("server/events/wire.py", "server/engine/tracer.py", "server/engine/record.py")}
    compiled["server/engine/record.py"].unlink(missing_ok=True)
    sandbox._compile_engine.cache_clear()  # as in a new server process
    sandbox.command(sandbox.detect(), sandbox.Limits())
    for module, path in compiled.items():
        assert path.exists() and path.stat().st_mtime >= (sandbox.PROJECT_ROOT / module).stat().st_mtime, module


def test_the_environment_is_empty():
    events = trace("import os\nprint(sorted(os.environ))\nprint(os.getuid())\n")
    names, uid = stdout_of(events).splitlines()
    assert names == "['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONHASHSEED']"
    assert uid != "0"


def test_print_flood_ends_with_limit():
    events = trace("while True:\n    print('spam')\n")
    assert events[-1]["status"] == "limit"
    assert "50,000 events" in events[-1]["reason"]
    assert len(events) == 50_001


def test_one_enormous_line_is_split_and_capped():
    events = trace("import sys\nsys.stdout.write('x' * 100_000_000)\n")
    assert events[-1]["status"] == "limit"


def test_bytes_written_straight_to_the_event_pipe_are_shown_as_raw_output():
    events = trace(EVENT_PIPE + "os.write(pipe, b'not an event\\n')\nprint('after')\n")
    raw = [e for e in of_kind(events, "stdout") if e["stream"] == "raw"]
    assert raw and raw[0]["text"].startswith("not an event\n"), events
    assert events[-1]["kind"] == "run.end" and [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["status"] == "error" and "wrote into Loopscope's event pipe" in events[-1]["reason"]


def test_a_frame_announcing_too_much_ends_the_run_with_limit():
    events = trace(EVENT_PIPE + "import struct\nos.write(pipe, struct.pack('<cI', b'J', 2**31))\n"
                   "import time\ntime.sleep(60)\n", timeout=5)
    assert events[-1]["status"] == "limit" and "MiB of events at once" in events[-1]["reason"]


def test_a_flood_of_forged_events_ends_at_the_event_limit():
    """Frames packed with 3 x 8 MiB of events: the runner decodes no more than the limit lets through."""
    from server.runner import Options, Program, Run

    flood = (EVENT_PIPE + "import struct\n"
             f"record = struct.pack('<BdII', {wire.CODES['handle.begin']}, 1.0, 1, 0)\n"
             "payload = record * (8 * 1024 * 1024 // len(record) - 1)\n"
             "for _ in range(3):\n"
             "    os.write(pipe, struct.pack('<cI', b'P', len(payload)) + payload)\n")
    limits = sandbox.Limits(events=1000)
    got = list(Run(Program(flood, "main.py", "main.py"), Options(), limits=limits).events())
    assert got[-1]["status"] == "limit" and "more than 1,000 events" in got[-1]["reason"]
    assert [e["seq"] for e in got] == list(range(len(got))) and len(got) <= 1002


def test_thread_bomb_is_contained():
    source = "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()\n"
    # (It makes threads until its time limit ends it, whether that is 2 s or 5 s: the run ends, nothing is left.)
    events = trace(source, timeout=2)
    assert events[-1]["status"] in ("error", "limit", "timeout")


def test_syntax_error_reports_its_line():
    events = trace("import asyncio\n\nasync def main(:\n    pass\n")
    [error] = of_kind(events, "error")
    assert error["line"] == 3 and error["message"].startswith("SyntaxError")
    assert events[-1]["status"] == "error" and "line 3" in events[-1]["reason"]


def test_runtime_error_shows_only_the_programs_frames():
    source = "import asyncio\n\nasync def main():\n    1 / 0\n\nasyncio.run(main())\n"
    [error] = of_kind(trace(source), "error")
    assert error["message"] == "ZeroDivisionError: division by zero"
    assert error["line"] == 4
    files = [line.split('"')[1] for line in error["traceback"].splitlines() if line.startswith('  File "')]
    assert files == ["main.py", "main.py"]  # not asyncio's nor Loopscope's frames
    assert 'File "main.py", line 4, in main\n    1 / 0\n' in error["traceback"]  # quoting the line, as python does


def test_stop_ends_the_run_and_its_process():
    from server.runner import Options, Program, Run

    run = Run(Program("import time\nprint('started', flush=True)\ntime.sleep(30)\n", "main.py", "main.py"),
              Options(clock="real"))
    seen = []
    for event in run.events():
        seen.append(event)
        if event["kind"] == "stdout":
            run.stop()
    assert seen[-1]["kind"] == "run.end" and seen[-1]["status"] == "stopped"


def test_one_runs_threads_do_not_starve_another_run():
    """The thread limit counts per uid and each run has a uid of its own: a run holding every
    thread it may start does not keep a run beside it from starting threads."""
    from server.runner import Options, Program, Run

    hog = (
        "import threading, time\n"
        "threading.stack_size(65536)\n"
        "gate = threading.Event()\n"
        "try:\n"
        "    while True:\n"
        "        threading.Thread(target=gate.wait, daemon=True).start()\n"
        "except RuntimeError:\n"
        "    print('full', flush=True)\n"
        "time.sleep(20)\n"
    )
    neighbour = (
        "import threading\n"
        "threads = [threading.Thread(target=print, args=(n,)) for n in range(20)]\n"
        "for thread in threads:\n"
        "    thread.start()\n"
        "for thread in threads:\n"
        "    thread.join()\n"
    )
    holding = Run(Program(hog, "hog.py", "hog.py"), Options(clock="real"))
    hog_events = holding.events()
    try:
        for event in hog_events:
            assert event["kind"] != "run.end", event
            if event["kind"] == "stdout" and event["text"] == "full\n":
                break
        events = list(Run(Program(neighbour, "main.py", "main.py"), Options()).events())
        assert events[-1]["status"] == "ok", events[-1]
        assert sorted(stdout_of(events).split()) == sorted(str(n) for n in range(20))
    finally:
        holding.stop()
        for _ in hog_events:
            pass


def test_socket_families_outside_the_network_namespace_are_refused():
    source = ("import socket\nfor family in (socket.AF_VSOCK, socket.AF_NETLINK, socket.AF_PACKET):\n"
              "    try:\n        socket.socket(family, socket.SOCK_DGRAM)\n    except OSError as exc:\n"
              "        print(exc)\n")
    events = trace(source)
    printed = stdout_of(events).splitlines()
    assert printed == [f"Loopscope sandbox: only Unix and internet (loopback) sockets are allowed here, not {name}"
                       for name in ("AF_VSOCK", "AF_NETLINK", "AF_PACKET")]


def test_a_vsock_socket_past_the_audit_hook_is_refused_by_seccomp():
    source = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "for family in (40, 16, 2, 10, 1):  # AF_VSOCK, AF_NETLINK, then the allowed ones\n"
              "    fd = libc.syscall(41, family, 1, 0)  # socket() on x86-64\n"
              "    print(family, 'refused: ' + os.strerror(ctypes.get_errno()) if fd < 0 else 'ok')\n")
    events = trace(source)
    assert stdout_of(events).splitlines() == [
        "40 refused: Address family not supported by protocol", "16 refused: Address family not supported by protocol",
        "2 ok", "10 ok", "1 ok"]


def test_localhost_resolves_and_asyncio_serves_on_it():
    source = """
import asyncio, socket

async def main():
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(echo, "localhost", 8765)
    reader, writer = await asyncio.open_connection("localhost", 8765)
    writer.write(b"hello\\n")
    print((await reader.readline()).decode().strip())
    writer.close()
    server.close()
    print(socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)[0][4])
    print(await asyncio.to_thread(sum, [1, 2]))

asyncio.run(main())
"""
    events = trace(source)
    assert events[-1]["status"] == "ok", events[-1]
    assert stdout_of(events).splitlines() == ["hello", "('127.0.0.1', 80)", "3"]


def test_the_program_holds_no_capabilities():
    source = "for line in open('/proc/self/status'):\n    if line.startswith(('CapEff', 'CapPrm', 'CapAmb')):\n" \
             "        print(line.split()[1])\n"
    assert stdout_of(trace(source)).split() == ["0000000000000000"] * 3


def test_the_sandbox_holds_only_what_runs_inside_it():
    source = "import os\nprint(sorted(os.listdir('/opt/loopscope/server')))\n"
    assert stdout_of(trace(source)) == "['__init__.py', 'engine', 'events']\n"


def test_a_system_call_of_another_architecture_ends_the_run_at_once():
    # x32's socket(): before, only the calling thread was killed and the run waited for its time limit.
    source = "import ctypes\nctypes.CDLL(None).syscall(0x40000000 | 41, 16, 3, 0)\nprint('not reached')\n"
    events = trace(source, timeout=30)
    assert events[-1]["status"] == "error" and events[-1]["reason"] == (
        "The program made a system call of another architecture, which the sandbox does not allow, so it was stopped.")
    assert stdout_of(events) == ""
