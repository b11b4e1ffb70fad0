"""The run pool on its own, with stand-in jobs that record what their client would be told."""

import threading

import pytest

from server.pool import Busy, RunPool


class Job:
    def __init__(self):
        self.told = []
        self.stall = threading.Event()  # while set, a position notice waits for `go` (a thread paused mid-send)
        self.entered = threading.Event()
        self.go = threading.Event()

    def queued(self, position):
        if self.stall.is_set():
            self.entered.set()
            self.go.wait(5)
        self.told.append(("queued", position))

    def start(self, pool):
        self.told.append(("running",))


def test_runs_wait_in_order_and_hear_their_place():
    pool = RunPool(max_running=1, max_queued=2)
    first, second, third = Job(), Job(), Job()
    for job in (first, second, third):
        pool.submit(job)
    with pytest.raises(Busy):
        pool.submit(Job())
    pool.finished(first)
    assert first.told == [("running",)]
    assert second.told == [("queued", 1), ("running",)]
    assert third.told == [("queued", 2), ("queued", 1)]


# Found by tests/test_fuzz.py: positions were told from a list copied under the lock but sent after
# it, so a run that left the queue meanwhile (stopped, or started) heard "queued" after its end.
@pytest.mark.parametrize("leaves", ["stopped", "started"])
def test_a_position_notice_never_reaches_a_run_that_has_left_the_queue(leaves):
    pool = RunPool(max_running=1, max_queued=8)
    running, ahead, job = Job(), Job(), Job()
    for each in (running, ahead, job):
        pool.submit(each)
    job.stall.set()
    # `ahead` leaves: `job` is told it moved up, and that notice stalls midway
    mover = threading.Thread(target=pool.cancel, args=(ahead,))
    mover.start()
    assert job.entered.wait(5)

    def leave():
        if leaves == "stopped":
            if pool.cancel(job):
                job.told.append(("finished",))
        else:
            pool.finished(running)  # `job` is next: it starts

    leaving = threading.Thread(target=leave)
    leaving.start()
    # Without the lock held around the notice, the run leaves the queue now; with it, it waits
    # for the notice. (The wait only gives the bug its chance; the fixed pool passes at any length.)
    leaving.join(0.2)
    job.go.set()
    mover.join(5)
    leaving.join(5)
    end = ("finished",) if leaves == "stopped" else ("running",)
    assert job.told == [("queued", 2), ("queued", 1), end]
