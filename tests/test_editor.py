"""Your own code in the page: the editor, errors at their lines, keeping and sharing, and trust."""

import re

from playwright.sync_api import expect

from servers import LiveServer
from test_page import open_page, page, server  # noqa: F401 - the shared fixtures

PROGRAM = """import asyncio


async def tick(name, seconds):
    await asyncio.sleep(seconds)
    print(name, "done")


async def main():
    await asyncio.gather(asyncio.create_task(tick("slow", 2), name="slow"),
                         asyncio.create_task(tick("quick", 1), name="quick"))


asyncio.run(main())
"""


def type_program(page, text):
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    # Line by line, each line's own indentation, so the editor's auto-indent does not double it.
    for number, line in enumerate(text.rstrip("\n").split("\n")):
        if number:
            page.keyboard.press("Enter")
            page.keyboard.press("Shift+Home")  # the editor indented the new line: drop that
            page.keyboard.press("Delete")
        page.keyboard.insert_text(line)


def editor_text(page):
    return page.evaluate("() => window.loopscope.page.editor.state.doc.toString()")


def run_own(page):
    page.select_option("#speed", "max")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.page.trace.ended && !window.loopscope.player.playing")


def test_typed_code_runs_and_its_tasks_and_output_show(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, PROGRAM)
    assert editor_text(page) == PROGRAM.rstrip("\n")
    run_own(page)
    expect(page.locator('[data-area="done"] .chip')).to_have_text(
        ["quick: returned None", "slow: returned None", "Task-1: returned None"])
    expect(page.locator("[data-output] li")).to_have_text(["[quick] quick done", "[slow] slow done"])
    expect(page.locator("#source li")).to_have_count(PROGRAM.count("\n"))


def test_blocking_mode_makes_own_sleeps_hold_the_loop(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own&blocking=1")
    type_program(page, PROGRAM)
    expect(page.locator("#explanation")).to_contain_text("every await asyncio.sleep(x) holds the loop")
    expect(page.locator("#explanation code").first).to_have_text("await asyncio.sleep(x)")
    run_own(page)
    expect(page.locator("[data-output] li")).to_have_text(["[slow] slow done", "[quick] quick done"])
    assert page.evaluate("() => window.loopscope.page.trace.events.filter(e => e.kind === 'loop.blocked').length") == 2


def test_syntax_error_is_marked_at_its_line(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, "import asyncio\n\nasync def main(:\n    pass\n")
    run_own(page)
    marked = page.locator(".cm-error-line")
    expect(marked).to_have_count(1)
    expect(marked).to_have_text("async def main(:")
    expect(page.locator(".cm-run-error")).to_have_text("Line 3: SyntaxError: invalid syntax")
    expect(page.locator("#status")).to_contain_text("does not compile on line 3")
    expect(page.locator('#source li[data-line="3"]')).to_have_class("error")


def test_runtime_error_shows_the_programs_own_traceback(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, "import asyncio\n\nasync def main():\n    return 1 / 0\n\nasyncio.run(main())\n")
    run_own(page)
    expect(page.locator(".cm-run-error")).to_have_text("Line 4: ZeroDivisionError: division by zero")
    errors = page.locator("[data-errors] pre")
    expect(errors).to_contain_text('File "main.py", line 4, in main')
    assert "server" not in errors.inner_text()


def test_a_shared_link_reproduces_code_and_mode(page, server, browser):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, PROGRAM)
    page.set_checked("#blocking", True)
    page.click("#share")
    expect(page.locator("#share-link")).to_have_value(re.compile("#code="))
    link = page.input_value("#share-link")
    assert "#code=" in link and "blocking=1" in link
    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        other.goto(link)
        other.wait_for_selector("body[data-ready=true]")
        assert other.input_value("#scenario") == "own" and other.is_checked("#blocking")
        assert editor_text(other) == PROGRAM.rstrip("\n")
    finally:
        fresh.close()


def test_reload_keeps_the_text(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, "print('kept')")
    page.wait_for_function("() => localStorage.getItem('loopscope:code') === \"print('kept')\"")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert editor_text(page) == "print('kept')"


def test_edit_this_scenario_opens_its_source(page, server):  # noqa: F811
    open_page(page, server, "?scenario=tasks&blocking=1")
    page.uncheck("#pause-key")
    page.click("#run")
    page.wait_for_function("() => window.loopscope.player.playing")
    page.click("#edit")  # (while the scenario's run plays: it stops, and its picture goes)
    assert page.input_value("#scenario") == "own"
    assert page.evaluate("() => !window.loopscope.player.playing && window.loopscope.page.trace.events.length === 0")
    expect(page.locator("#status")).to_contain_text("Ready")
    assert "time.sleep(2)" in editor_text(page)
    run_own(page)
    expect(page.locator("[data-outcome]")).to_contain_text("after 3 s")


def test_own_code_is_disabled_without_the_sandbox_and_says_why(browser):  # noqa: F811
    for flags, note, runnable in (((), "Running your own code is disabled on this server", False),
                                  (("--trust-code",), "WITHOUT the full sandbox", True)):
        live = LiveServer(*flags, env={"LOOPSCOPE_NO_BWRAP": "1"})
        context = browser.new_context()
        try:
            tab = context.new_page()
            open_page(tab, live, "?scenario=own")
            expect(tab.locator("#own-note")).to_contain_text(note)
            assert tab.is_enabled("#run") is runnable
        finally:
            context.close()
            live.stop()


def test_a_shared_link_never_silently_replaces_newer_text_of_ones_own(page, server):  # noqa: F811
    open_page(page, server, "?scenario=own")
    type_program(page, PROGRAM)
    page.click("#share")
    expect(page.locator("#share-link")).to_have_value(re.compile("#code="))
    link = page.input_value("#share-link")
    type_program(page, "print('mine, written after sharing')")
    page.wait_for_function("() => localStorage.getItem('loopscope:code') === \"print('mine, written after sharing')\"")
    other = page.context.new_page()  # (same browser storage: the text kept in it is the newer one)
    other.goto(link)
    other.wait_for_selector("body[data-ready=true]")
    assert editor_text(other) == PROGRAM.rstrip("\n")
    expect(other.locator("#kept-note")).to_be_visible()
    other.click("#restore-kept")
    assert editor_text(other) == "print('mine, written after sharing')"
    other.click("#use-shared")
    assert editor_text(other) == PROGRAM.rstrip("\n")
