"""The page fits the room (headless Chromium): 1440x900 without scrolling for the picture, the source
and the narration; the docstring folded; a presentation mode in large type; a phone without sideways
scrolling; 150% zoom."""

from playwright.sync_api import expect

from test_page import open_page, run_to_end, server  # noqa: F401 - fixtures

BOTTOMS = """() => Object.fromEntries(['#loop', '#source', '#narration'].map(s =>
    [s, document.querySelector(s).getBoundingClientRect().bottom]))"""


def new_page(browser, viewport, scale=1):  # noqa: F811
    context = browser.new_context(viewport=viewport, device_scale_factor=scale)
    return context, context.new_page()


def test_at_1440_by_900_the_picture_source_and_narration_need_no_scrolling(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 1440, "height": 900})
    open_page(page, server, "?scenario=tasks&blocking=1")
    run_to_end(page)
    bottoms = page.evaluate(BOTTOMS)
    assert all(bottom <= 900 for bottom in bottoms.values()), bottoms
    context.close()


def test_the_title_and_every_control_share_one_row_at_1440_and_1920(browser, server):  # noqa: F811
    for width, height, subtitle in ((1440, 900, False), (1920, 1080, True)):
        context, page = new_page(browser, {"width": width, "height": height})
        open_page(page, server, "?scenario=tasks")
        middles = page.evaluate("""() => ['header h1', '#scenario', '#blocking', '#present', '#edit', '#run', '#stop']
            .map(s => { const box = document.querySelector(s).getBoundingClientRect(); return box.top + box.height / 2; })""")
        assert max(middles) - min(middles) < 20, f"the header's parts are on more than one row at {width} px: {middles}"
        assert page.locator("header h1 small").is_visible() == subtitle
        context.close()


def test_the_source_pane_opens_on_the_program_with_the_docstring_folded(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 1440, "height": 900})
    open_page(page, server, "?scenario=tasks")
    first = page.locator("#source li:visible").first
    expect(first).to_contain_text("the docstring: lines 1–13")
    expect(page.locator('#source li[data-line="1"]')).to_be_hidden()
    expect(page.locator('#source li[data-line="14"]')).to_be_visible()
    assert page.locator('#source li[data-line="14"]').evaluate("li => li.value") == 14  # numbered as in the file
    first.locator("button").click()
    expect(page.locator('#source li[data-line="1"]')).to_be_visible()
    expect(page.locator('#source li[data-line="1"]')).to_contain_text('"""Tasks')
    context.close()


def test_presentation_mode_shows_large_type_and_hides_the_logs(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 1920, "height": 1080})
    open_page(page, server, "?scenario=tasks&blocking=1")
    run_to_end(page)
    page.click("#present")
    expect(page.locator("#present")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#logs")).to_be_hidden()
    smallest = page.evaluate("""() => {
        const sizes = [];
        for (const element of document.querySelectorAll('#loop *, #narration, #source li, .transport *')) {
            if (!element.offsetParent || ![...element.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            sizes.push([parseFloat(getComputedStyle(element).fontSize), element.tagName + '.' + element.className]);
        }
        return sizes.sort((a, b) => a[0] - b[0])[0];
    }""")
    assert smallest[0] >= 24, smallest
    bottoms = page.evaluate(BOTTOMS)
    assert bottoms["#narration"] <= 1080 and bottoms["#loop"] <= 1080 * 1.15, bottoms
    context.close()


def test_a_phone_never_scrolls_sideways(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 390, "height": 844})
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    context.close()


def test_at_150_percent_zoom_nothing_overflows_sideways_and_the_picture_shows(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 960, "height": 600}, scale=1.5)
    open_page(page, server, "?scenario=tasks")
    run_to_end(page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    expect(page.locator('#loop [data-area="done"] .chip').first).to_be_visible()
    context.close()


def test_a_link_with_present_opens_in_presentation_mode_and_keeps_it(browser, server):  # noqa: F811
    context, page = new_page(browser, {"width": 1920, "height": 1080})
    open_page(page, server, "?scenario=tasks&present=1")
    expect(page.locator("#present")).to_have_attribute("aria-pressed", "true")
    assert "present=1" in page.url
    context.close()
