"""Real browser: the pipeline page's architecture diagram explains the part clicked (and fits a phone and a
projector), and a student works through a guided lesson step: opens the page in the lesson's state, comes back,
answers wrongly, then rightly, and the progress counts it."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, keyed, live, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def click_part(page, title: str) -> None:
    """Click the diagram's box whose title starts with ``title`` (the box's label is part of the chart's SVG)."""
    label = chart(page, state.PIPE_DIAGRAM).locator("text", has_text=title).first
    label.scroll_into_view_if_needed()
    box = label.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 6)
    wait_for_run(page)


def test_a_click_on_the_diagram_explains_that_part(page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(page.app_url + "/pipeline")
    wait_for_run(page)
    expect(chart(page, state.PIPE_DIAGRAM)).to_have_count(1)
    expect(
        live(page, '[data-testid="stMarkdown"]').filter(has_text="The technical word: tokens and token ids")
    ).to_have_count(1)
    click_part(page, "5. Attention")
    expect(
        live(page, '[data-testid="stMarkdown"]').filter(has_text="causal self-attention with several heads").first
    ).to_be_visible()
    expect(keyed(page, state.PIPE_OPEN, "button")).to_contain_text("Open Attention with this prompt")
    screenshot(page, "diagram_attention")
    keyed(page, state.PIPE_OPEN, "button").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="Attention").first).to_be_visible()
    expect(page.get_by_label("Prompt").first).to_have_value("The capital of France is")


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 720)])
def test_the_diagram_fits_a_phone_and_a_projector(page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(page.app_url + "/pipeline")
    wait_for_run(page)
    diagram = chart(page, state.PIPE_DIAGRAM)
    diagram.scroll_into_view_if_needed()
    frame = diagram.bounding_box()
    labels = diagram.locator("g.annotation text")
    assert labels.count() > 20
    for i in range(labels.count()):  # every box's text stays inside the chart (nothing runs off a phone's screen)
        box = labels.nth(i).bounding_box()
        if box and box["width"] > 0:
            assert frame["x"] - 2 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 2, i
    screenshot(page, f"diagram_{width}")


def answer(page, text: str) -> None:
    box = keyed(page, f"{state.GUIDED_ANSWER}.1_greedy_loop.0", "input")
    box.fill(text)
    box.press("Enter")
    wait_for_run(page)
    keyed(page, f"{state.GUIDED_CHECK}.1_greedy_loop.0", "button").click()
    wait_for_run(page)


def test_a_student_works_through_a_lesson_step(page, bundled_lm):
    from core.guided import expected_answer, load_guided_lessons

    right = expected_answer(load_guided_lessons()[0].steps[0], bundled_lm)  # the model's top token
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(page.app_url + "/lessons")
    wait_for_run(page)
    answer(page, "banana")
    expect(page.get_by_text("Not quite: the answer is").first).to_be_visible()
    expect(page.get_by_text("1 of 4 answered, 0 right").first).to_be_visible()
    screenshot(page, "lesson_wrong")

    keyed(page, f"{state.GUIDED_OPEN}.1_greedy_loop.0", "button").click()
    wait_for_run(page)
    expect(page.get_by_label("Prompt").first).to_have_value("Artificial intelligence is")
    page.get_by_role("link", name="Guided lessons").click()  # back through the menu: the same session
    wait_for_run(page)
    expect(page.get_by_text("1 of 4 answered, 0 right").first).to_be_visible()  # the progress was kept
    answer(page, right.replace("␣", " ").strip())
    expect(page.get_by_text("Right:").first).to_be_visible()
    expect(page.get_by_text("1 of 4 answered, 1 right").first).to_be_visible()
    screenshot(page, "lesson_right")
