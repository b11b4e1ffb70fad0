"""asyncio's objects, drawn from the trace: the events that report them (job.*, shield.new,
semaphore.*, queue.*), and the page's panel (#objects) showing each in its scenario."""

import re

import pytest
from playwright.sync_api import expect

from conftest import of_kind, trace, trace_scenario
from test_page import open_page, page, run_to_end, seek, server  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def traces():
    cache = {}

    def get(scenario_id):
        if scenario_id not in cache:
            cache[scenario_id] = trace_scenario(scenario_id)
        return cache[scenario_id]

    return get


def names(events):
    named = {e["task"]: e["name"] for e in of_kind(events, "task.new")}
    named.update({e["task"]: e["name"] for e in of_kind(events, "task.rename")})
    return named


# -- the events -----------------------------------------------------------------------------------


def test_a_semaphore_reports_its_slots_who_gets_one_who_waits_and_the_hand_over(traces):
    events = traces("semaphore")
    [made] = of_kind(events, "semaphore.new")
    assert made["value"] == 2 and made["line"] == 20
    named = names(events)
    changes = [(e["action"], named[e["task"]], e["free"]) for e in of_kind(events, "semaphore.change")]
    assert changes[:6] == [("acquire", "download 1", 1), ("acquire", "download 2", 0), ("wait", "download 3", 0),
                           ("wait", "download 4", 0), ("wait", "download 5", 0), ("wait", "download 6", 0)]
    # A release while tasks wait hands the slot straight to the first of them: it is never free.
    assert changes[6:10] == [("release", "download 1", 0), ("release", "download 2", 0),
                             ("acquire", "download 3", 0), ("acquire", "download 4", 0)]
    assert changes[-2:] == [("release", "download 5", 1), ("release", "download 6", 2)]


def test_a_queue_reports_items_in_and_out_and_who_waits_on_it(traces):
    events = traces("queue")
    [made] = of_kind(events, "queue.new")
    assert made["maxsize"] == 2
    named = names(events)
    changes = [(e["action"], named[e["task"]], e["item"], e["size"]) for e in of_kind(events, "queue.change")]
    assert changes[:4] == [("put", "Task-1", "1", 1), ("put", "Task-1", "2", 2), ("wait_put", "Task-1", None, 2),
                           ("get", "consumer-1", "1", 1)]
    assert [c[2] for c in changes if c[0] == "get"] == ["1", "2", "3", "4", "5", "6"]
    # The idle consumers wait on the empty queue until they are cancelled.
    assert changes[-4:] == [("wait_get", "consumer-1", None, 0), ("wait_get", "consumer-2", None, 0),
                            ("give_up", "consumer-1", None, 0), ("give_up", "consumer-2", None, 0)]


def test_shield_reports_its_outer_future_and_inner_task_and_the_outer_alone_is_cancelled(traces):
    events = traces("cancel-and-shield")
    [shield] = of_kind(events, "shield.new")
    assert names(events)[shield["task"]] == "protected" and shield["line"] == 43
    [outer] = [e for e in of_kind(events, "future.done") if e["future"] == shield["future"]]
    [inner] = [e for e in of_kind(events, "task.done") if e["task"] == shield["task"]]
    assert outer["state"] == "cancelled" and inner["state"] == "result"
    assert outer["seq"] < inner["seq"]


def test_worker_thread_jobs_report_their_thread_function_and_task_while_the_loop_runs_on(traces):
    events = traces("to-thread")
    starts, ends = of_kind(events, "job.start"), of_kind(events, "job.end")
    assert [(e["label"], e["task"]) for e in starts] == [("blocking_io", 1), ("blocking_io", 1)]
    assert [e["job"] for e in ends] == [e["job"] for e in starts] and {e["state"] for e in ends} == {"result"}
    assert all(e["thread"].startswith("asyncio_") for e in starts + ends)
    first_start, first_end = starts[0]["seq"], ends[0]["seq"]
    ticks = [e for e in of_kind(events, "stdout") if e["text"].startswith("tick") and first_start < e["seq"] < first_end]
    assert len(ticks) >= 2  # the loop ran the ticker while the thread worked
    assert ends[0]["t"] - starts[0]["t"] == pytest.approx(1.2, abs=0.1)


PROGRAM = """
import asyncio
from concurrent.futures import ThreadPoolExecutor

def fails():
    raise ValueError("no")

async def main():
    queue = asyncio.LifoQueue()
    queue.put_nowait([1, 2])
    queue.put_nowait("x" * 500)
    print(queue.get_nowait()[:3], queue.get_nowait())
    limit = asyncio.BoundedSemaphore(1)
    async with limit:
        pass
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mine") as pool:
        try:
            await asyncio.get_running_loop().run_in_executor(pool, fails)
        except ValueError as exc:
            print("raised", exc)
    print(await asyncio.shield(asyncio.sleep(0, "shielded")))

asyncio.run(main())
"""


def test_the_objects_of_a_program_of_ones_own_lifo_queues_bounded_semaphores_own_pools():
    events = trace(PROGRAM)
    assert [e["text"] for e in of_kind(events, "stdout")] == ["xxx [1, 2]\n", "raised no\n", "shielded\n"]
    items = [(e["action"], e["item"]) for e in of_kind(events, "queue.change")]
    assert items[0] == ("put", "[1, 2]") and items[1][1].startswith("'xxx") and len(items[1][1]) < 70
    assert [i[0] for i in items] == ["put", "put", "get", "get"] and items[2][1] == items[1][1]
    assert [e["action"] for e in of_kind(events, "semaphore.change")] == ["acquire", "release"]
    [end] = of_kind(events, "job.end")
    assert end["state"] == "exception" and end["thread"].startswith("mine")
    assert len(of_kind(events, "shield.new")) == 1


NESTED = """
import asyncio

class Worker:
    async def put(self, queue, item):
        await queue.put(item)

async def produce(queue):
    worker = Worker()
    for item in range(3):
        await worker.put(queue, item)
        await asyncio.sleep(0.1)

async def main():
    queue = asyncio.Queue(maxsize=1)
    async def consume():
        for _ in range(3):
            await asyncio.sleep(0.25)
            print(await queue.get())
    consumer = asyncio.create_task(consume())
    await produce(queue)
    await consumer

asyncio.run(main())
"""


def test_an_await_nested_in_the_programs_own_coroutines_says_each_one_it_passes_through():
    events = trace(NESTED)
    assert [e["text"] for e in of_kind(events, "stdout")] == ["0\n", "1\n", "2\n"]
    vias = [(e["task"], e["line"], e["awaiting"], e["via"]) for e in of_kind(events, "task.suspend")]
    through_put = "main() line 21 → produce() line 11 → Worker.put() line 6"
    through_sleep = "main() line 21 → produce() line 12"
    # The same waits again and again (where the tracer remembers a site) still say where they are.
    assert [v for v in vias if v[0] == 1] == [(1, 12, "asyncio.sleep(0.1)", through_sleep),
                                              (1, 6, "Queue.put()", through_put),
                                              (1, 12, "asyncio.sleep(0.1)", through_sleep),
                                              (1, 6, "Queue.put()", through_put),
                                              (1, 12, "asyncio.sleep(0.1)", through_sleep),
                                              (1, 22, "task Task-2", None)]  # main's own frame awaits
    # A task whose own coroutine awaits: no nesting to tell (its name keeps no "<locals>").
    assert {v[3] for v in vias if v[0] == 2} == {None}
    assert not [e for e in of_kind(events, "stdout") if e["stream"] == "raw"]


# -- the page ---------------------------------------------------------------------------------------


def played(page, server, scenario_id):
    """The page with `scenario_id`'s run played to its end."""
    open_page(page, server, f"?scenario={scenario_id}")
    run_to_end(page)


def at(page, predicate):
    """Seek to the first event for which `predicate` (JS, of an event and the events) holds."""
    index = page.evaluate(f"() => {{ const events = window.loopscope.page.trace.events; "
                          f"return events.findIndex((e, i) => ({predicate})(e, events)); }}")
    assert index >= 0
    seek(page, index)
    return index


def rows(page, kind):
    return page.locator(f'#objects [data-object="{kind}"]')


def test_the_panel_is_hidden_when_a_run_uses_none_of_the_objects(page, server):
    played(page, server, "run-until-complete")
    expect(page.locator("#objects")).to_be_hidden()


def test_futures_show_who_waits_on_them_and_what_they_got(page, server):
    played(page, server, "futures")
    at(page, "(e) => e.kind === 'loop.idle'")
    answer = rows(page, "future").filter(has_text="reader-1, reader-2, reader-3")
    expect(answer).to_contain_text("pending")
    at(page, "(e) => e.kind === 'future.done' && e.detail === '42'")
    expect(answer).to_contain_text("got 42")
    seek(page, 10**9)
    expect(rows(page, "future").filter(has_text="raised ValueError: the data never came")).to_contain_text("awaited by Task-1")


def test_a_worker_threads_lane_holds_its_job_while_the_loop_runs_other_callbacks(page, server):
    played(page, server, "to-thread")
    at(page, "(e, events) => e.kind === 'stdout' && e.text === 'tick 3\\n'")
    worker = rows(page, "thread").filter(has_text="worker asyncio_0")
    expect(worker).to_contain_text("blocking_io() for Task-1")
    expect(worker).to_contain_text(re.compile(r"running for 1(\.\d)? s"))  # (threads take real time)
    loop = rows(page, "thread").filter(has_text="loop's thread")
    expect(loop).to_contain_text("runs wake-up · ticker")
    expect(loop).to_contain_text(re.compile(r"not held by the job: [1-9]\d* callbacks ran meanwhile"))
    seek(page, 10**9)
    expect(worker).to_contain_text("idle · last: blocking_io()")


def test_shield_shows_the_outer_future_cancelled_and_the_inner_task_going_on_then_done(page, server):
    played(page, server, "cancel-and-shield")
    shield = rows(page, "shield")
    at(page, "(e) => e.kind === 'shield.new'")
    expect(shield).to_contain_text("outer future: pending")
    at(page, "(e, events) => e.kind === 'future.done' && e.state === 'cancelled' && e.future === events.find(s => s.kind === 'shield.new').future")
    expect(shield).to_contain_text("outer future: cancelled")
    expect(shield).to_contain_text("inner: task protected awaits asyncio.sleep(2)")
    expect(shield).to_contain_text("the cancel stopped at the shield: it goes on")
    seek(page, 10**9)
    expect(shield).to_contain_text("inner: task protected returned \"protected's result\"")


def test_the_semaphore_shows_two_of_two_slots_held_and_the_tasks_waiting(page, server):
    played(page, server, "semaphore")
    at(page, "(e) => e.kind === 'semaphore.change' && e.action === 'wait' && e.task === 4")
    semaphore = rows(page, "semaphore")
    expect(semaphore).to_contain_text("2 of 2 slots held")
    expect(semaphore.locator(".slot.held")).to_have_text(["download 1", "download 2"])
    expect(semaphore).to_contain_text("waiting: download 3")
    at(page, "(e) => e.kind === 'semaphore.change' && e.action === 'wait' && e.task === 7")
    expect(semaphore).to_contain_text("waiting: download 3, download 4, download 5, download 6")
    # download 1 gives its slot back: it goes to download 3 at once, before download 3 runs again.
    at(page, "(e) => e.kind === 'semaphore.change' && e.action === 'release'")
    expect(semaphore.locator(".slot.held")).to_have_text(["download 2"])
    expect(semaphore.locator(".slot.handed")).to_have_text(["→ download 3"])


def test_the_queue_shows_its_items_and_who_waits_to_put_or_get(page, server):
    played(page, server, "queue")
    queue = rows(page, "queue")
    at(page, "(e) => e.kind === 'queue.change' && e.action === 'wait_put'")
    expect(queue).to_contain_text("2 of 2 items")
    expect(queue.locator(".item")).to_have_text(["1", "2"])
    expect(queue).to_contain_text("waiting to put: Task-1")
    at(page, "(e, events) => e.kind === 'queue.change' && e.action === 'wait_get' && e.task === 3")
    expect(queue.locator(".item")).to_have_text(["empty"])
    expect(queue).to_contain_text("waiting to get: consumer-1, consumer-2")


def test_the_await_chain_nests_gathers_and_a_taskgroups_tasks_under_their_task(page, server):
    played(page, server, "gather-and-taskgroup")
    chain = rows(page, "chain")
    at(page, "(e) => e.kind === 'task.suspend' && e.task === 3")  # the first gather's two jobs wait
    expect(chain).to_have_text(["Task-1 · main()awaits asyncio.gather(…)", "└ Task-2 · job()awaits asyncio.sleep(1)",
                                "└ Task-3 · job()awaits asyncio.sleep(0.5)"])
    at(page, "(e) => e.kind === 'task.suspend' && e.task === 7")  # the TaskGroup's two
    expect(chain).to_have_text(["Task-1 · main()awaits its TaskGroup's tasks (end of async with)",
                                "└ d · job()awaits asyncio.sleep(1)", "└ broken · job()awaits asyncio.sleep(0.5)"])
    expect(chain.nth(1)).to_have_css("padding-left", "23.2px")  # (indented one level)


def test_the_await_chain_draws_a_tasks_wait_through_its_own_nested_coroutines(page, server):
    open_page(page, server, "?scenario=sequential")  # main() awaits hello(), which awaits a sleep
    run_to_end(page)
    at(page, "(e) => e.kind === 'task.suspend' && e.line === 15")
    expect(rows(page, "chain")).to_have_text(["Task-1 · main()awaits hello() on line 25",
                                              "└ hello()awaits asyncio.sleep(2) on line 15"])
    expect(page.locator("#narration")).to_contain_text(
        "awaits asyncio.sleep(2) on line 15 (inside hello(), which main() awaits on line 25)")
    expect(page.locator('#source li[data-line="15"] .markers')).to_have_text("waiting: Task-1")
    expect(page.locator('#source li[data-line="25"]')).to_have_class(re.compile(r"\bnested\b"))
    expect(page.locator('#source li[data-line="25"] .markers')).to_have_text("inside: Task-1 → hello()")
    at(page, "(e) => e.kind === 'task.suspend' && e.line === 20")  # then world(), from line 26
    expect(rows(page, "chain")).to_have_text(["Task-1 · main()awaits world() on line 26",
                                              "└ world()awaits asyncio.sleep(1) on line 20"])
    expect(page.locator('#source li[data-line="25"]')).not_to_have_class(re.compile(r"\bnested\b"))
