"""Real browser: the client-side sampler. Moving temperature / top-k / top-p redraws the bars and the numbers in the
page, equal to core.sampling's to the shown precision, with no script run on the server during the move; letting
go tells the server once, and the link carries the value. Prints input-to-new-bars times measured inside the page.
"""

from __future__ import annotations

import math
import re
import statistics
from urllib.parse import parse_qs, urlparse

import pytest
import torch
from playwright.sync_api import expect

from components.client_sampler import decode_logits
from components.explain import sampling_notes
from components.sampling import sampling_view
from components.tables import candidate_table
from core.entropy import entropy_bits
from core.models import load_model
from core.next_token import distribution_from_logits, next_token_distribution
from core.sampling import sampling_probs
from tests.browser.helpers import keyed, run_mark, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser
PROMPT = "The capital of France is"
SAMPLER_DRAWN = "() => window.__nteSampler && window.__nteSampler.draws > 0"


@pytest.fixture(scope="module")
def dist():
    """The real model's next-token distribution after the default prompt, computed here, apart from the app."""
    return next_token_distribution(load_model(), PROMPT)


def shown(tab, key: str) -> dict:
    """What the sampler shows now: each bar's two texts, the four numbers or the caption, the notes, the settings."""
    return tab.evaluate(
        """key => {
          const host = document.querySelector('.st-key-' + key);
          const root = host && (host.querySelector('.nte-sampler') || [...host.querySelectorAll('*')]
            .map(e => e.shadowRoot && e.shadowRoot.querySelector('.nte-sampler')).find(Boolean));
          if (!root) return null;
          const rows = [...root.querySelectorAll('svg.nte-bars g.row')].map(g => ({
            label: g.querySelector('text.token').firstChild.textContent,
            model: g.querySelector('text.value.model').textContent,
            sampling: g.querySelector('text.value.sampling').textContent,
          }));
          const metrics = Object.fromEntries([...root.querySelectorAll('.metric')].map(
            m => [m.dataset.metric, m.querySelector('.metric-value').textContent]));
          const caption = root.querySelector('[data-testid="nte-sampler-caption"]');
          return {rows, metrics, caption: caption ? caption.textContent : null,
                  notes: [...root.querySelectorAll('.note')].map(n => n.textContent),
                  t: parseFloat(root.dataset.temperature), k: parseInt(root.dataset.topK),
                  p: parseFloat(root.dataset.topP)};
        }""",
        key.replace(".", "-"),
    )


def control(tab, key: str, name: str):
    """The sampler's control ``name`` (temperature, top-k, top_p) inside the component with Streamlit key ``key``."""
    return keyed(tab, key).locator(f"#nte-{name}")


def page_distribution(tab, key: str, dist):
    """The distribution of the logits the page holds (sent once by the server, most likely first), checked against
    the one computed here: the same model and prompt, the same logits but for float rounding (the server's forward
    runs batched, with its own threads), so a count at a top-p boundary is compared on the page's own logits."""
    sent = tab.evaluate(
        """key => {
          const host = document.querySelector('.st-key-' + key);
          const root = host.querySelector('.nte-sampler') || [...host.querySelectorAll('*')]
            .map(e => e.shadowRoot && e.shadowRoot.querySelector('.nte-sampler')).find(Boolean);
          return {logits: root.samplerData.logits, rows: root.samplerData.rows};
        }""",
        key.replace(".", "-"),
    )
    laid_out = decode_logits(sent)  # (V,) most likely first
    here = dist.logits.index_select(0, dist.order)
    assert torch.allclose(laid_out, here, atol=1e-3), float((laid_out - here).abs().max())
    top = dist.candidates(len(sent["rows"]))
    assert [r["token_id"] for r in sent["rows"]] == top.ids
    assert [r["position"] for r in sent["rows"]] == list(range(len(top.ids)))
    return distribution_from_logits(laid_out, dist.tokenizer)  # token ids here are positions in the layout


def expected_next_token(dist, t: float, k: int, p: float) -> dict:
    """What the next-token page showed for these settings before the sampler moved to the browser."""
    view = sampling_view(dist, 10, t, k, p)
    rows = [
        dict(model=f"{m:.1%}", sampling=f"{s:.1%}" if kept else "cut")
        for m, s, kept in zip(view.table["model_probability"], view.table["sampling_probability"], view.table["kept"])
    ]
    metrics = {
        "model_entropy": f"{dist.entropy_bits:.2f} bits",
        "effective": f"{dist.effective_choices:,.1f}",
        "entropy": f"{view.entropy_bits:.2f} bits",
        "kept": f"{view.kept:,} of {dist.vocab_size:,}",
    }
    return dict(rows=rows, metrics=metrics)


def check_next_token(page, dist, on_page) -> dict:
    now = shown(page, state.NT_SAMPLER)
    want = expected_next_token(on_page, now["t"], now["k"], now["p"])
    assert [r["label"] for r in now["rows"][:-1]] == [
        f"{i}. {label}" for i, label in enumerate(dist.candidates(10).labels, 1)
    ]
    assert [dict(model=r["model"], sampling=r["sampling"]) for r in now["rows"]] == want["rows"], now
    assert now["metrics"] == want["metrics"], (now["t"], now["k"], now["p"], now["metrics"], want["metrics"])
    assert now["rows"][-1]["label"].startswith("all other tokens (49,142)")
    assert now["notes"] == sampling_notes(dist.vocab_size, now["t"], now["k"], now["p"])  # the page's own words
    return now


def drag(page, slider, fractions, check) -> list[float]:
    """Hold the pointer on ``slider`` and move it through ``fractions`` of its width, calling ``check`` at each
    stop; returns the values seen. The pointer stays down throughout: nothing is let go."""
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * fractions[0], y)
    page.mouse.down()
    seen = []
    for fraction in fractions:
        page.mouse.move(box["x"] + box["width"] * fraction, y, steps=3)
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true))))")
        seen.append(float(slider.input_value()))
        check()
    return seen


def link(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def timings(page) -> list[float]:
    """Input event to the next painted frame, in ms, for every redraw the page measured."""
    return page.evaluate("() => window.__nteSampler.timings.map(t => t.painted - t.input)")


def report(name: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    median = statistics.median(values)
    print(f"\n{name}: input to new bars, {len(values)} moves: median {median:.1f} ms, p95 {p95:.1f} ms")


def test_next_token_sampler_moves_in_the_browser_and_the_link_follows_on_release(page, dist):
    page.goto(page.app_url + "/next_token")
    wait_for_run(page)  # the first run may load the model
    page.wait_for_function(SAMPLER_DRAWN)
    on_page = page_distribution(page, state.NT_SAMPLER, dist)
    first = check_next_token(page, dist, on_page)
    assert first["t"] == 1.0 and first["metrics"]["kept"] == "49,152 of 49,152"
    sampler = keyed(page, state.NT_SAMPLER)
    sampler.get_by_text("Chart as a table").click()  # the text alternative: the same numbers, as a table
    cells = sampler.locator("details.table tbody tr").all_inner_texts()
    assert [c.split("\t") for c in cells] == [[r["label"], r["model"], r["sampling"]] for r in first["rows"]], cells

    # Temperature, dragged with the pointer held down: every stop redraws in the page, no script run happens.
    runs = run_mark(page)
    temperature = control(page, state.NT_SAMPLER, "temperature")
    seen = drag(page, temperature, [0.33, 0.2, 0.1, 0.5, 0.75], lambda: check_next_token(page, dist, on_page))
    assert len(set(seen)) >= 4, seen
    assert run_mark(page) == runs, "a slider move reached the server"
    page.mouse.up()  # let go: the server hears the last value once, and the link follows
    wait_for_run(page, since=runs)
    t = seen[-1]
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('t') === '{t:g}'")
    assert link(page)["t"] == f"{t:g}"
    check_next_token(page, dist, on_page)

    # Greedy by keyboard: Home puts the slider at 0.
    runs = run_mark(page)
    temperature.focus()
    temperature.press("Home")
    now = check_next_token(page, dist, on_page)
    assert now["t"] == 0.0 and now["metrics"]["kept"] == "1 of 49,152"
    assert now["notes"][0].startswith("Temperature 0 is greedy decoding")
    wait_for_run(page, since=runs)  # the pause after the last key lets go
    page.wait_for_function("() => new URLSearchParams(location.search).get('t') === '0'")
    temperature.press("End")
    temperature.press("ArrowLeft")  # 3.0 -> 2.95: a flat distribution, most tokens with a probability
    check_next_token(page, dist, on_page)

    # Top-k typed and committed with Enter, then top-p dragged: the same numbers as core.sampling.
    top_k = control(page, state.NT_SAMPLER, "top-k")
    top_k.fill("5")
    check_next_token(page, dist, on_page)
    runs = run_mark(page)
    top_k.press("Enter")
    wait_for_run(page, since=runs)
    page.wait_for_function("() => new URLSearchParams(location.search).get('top_k') === '5'")
    top_k.fill("60000")  # past the vocabulary: keeps every token, and the note says so
    assert check_next_token(page, dist, on_page)["notes"][0].startswith("Top-k = 60,000 is at least")
    top_k.fill("-3")  # not a top-k: a plain message, and the bars keep the last good setting
    expect(keyed(page, state.NT_SAMPLER, ".error")).to_have_text("Top-k must be a whole number from 0 to 1,000,000.")
    assert check_next_token(page, dist, on_page)["k"] == 60000
    top_k.fill("0")
    top_k.press("Enter")
    wait_for_run(page)
    runs = run_mark(page)
    top_p = control(page, state.NT_SAMPLER, "top_p")
    seen = drag(page, top_p, [0.99, 0.95, 0.9, 0.6, 0.3, 0.0], lambda: check_next_token(page, dist, on_page))
    assert run_mark(page) == runs, "a slider move reached the server"
    assert seen[-1] == 0.0 and shown(page, state.NT_SAMPLER)["metrics"]["kept"] == "1 of 49,152"
    page.mouse.up()
    wait_for_run(page, since=runs)
    page.wait_for_function("() => new URLSearchParams(location.search).get('top_p') === '0'")
    screenshot(page, "client_sampler_next_token")
    report("next-token page", timings(page))
    assert not page.dialogs


def expected_temperature(dist, t: float) -> dict:
    """What the temperature page showed at T = t: the bars at T beside T = 1 and the entropy caption."""
    probs = sampling_probs(dist.logits, temperature=t)
    table = candidate_table(dist, 8, probs)
    bits = entropy_bits(probs)
    rows = [
        dict(model=f"{m:.1%}", sampling=f"{s:.1%}" if kept else "cut")
        for m, s, kept in zip(table["model_probability"], table["sampling_probability"], table["kept"])
    ]
    caption = (
        f"Entropy at T = {t:g}: {bits:.3f} bits, like a fair choice among "
        f"{2**bits:,.2f} tokens. As T grows the curve climbs toward the uniform limit."
    )
    return dict(rows=rows, caption=caption, choices=2**bits)


FAIR_CHOICE = re.compile(r"like a fair choice among ([\d,]+\.\d\d) tokens")
# The float32 softmax's own rounding: torch sums exp() in float32 lanes (16 with AVX-512, 8 with AVX2, so the server's
# last digits depend on its CPU), the page sums in float64. That moves the entropy by about 1e-6 bits; 2 ** entropy
# shows it at its seventh significant digit once a flat distribution has ~10,000 tokens' worth of choice.
ENTROPY_ROUNDING_BITS = 1e-5


def same_caption(shown_caption: str, want: dict) -> None:
    """The caption is the server's word for word; the fair-choice figure may differ only by float32 rounding
    (a string difference then needs a figure at least 0.005 from the server's to be possible at all)."""
    shown_choices = float(FAIR_CHOICE.search(shown_caption).group(1).replace(",", ""))
    tolerance = want["choices"] * math.log(2) * ENTROPY_ROUNDING_BITS
    if tolerance < 0.005:
        assert shown_caption == want["caption"]
    else:
        assert FAIR_CHOICE.sub("", shown_caption) == FAIR_CHOICE.sub("", want["caption"])
        assert abs(shown_choices - want["choices"]) <= tolerance + 0.005, (shown_caption, want)


def test_temperature_page_slider_moves_in_the_browser(page, dist):
    page.goto(page.app_url + "/temperature")
    wait_for_run(page)
    page.wait_for_function(SAMPLER_DRAWN)

    on_page = page_distribution(page, state.TEMP_SAMPLER, dist)

    def check():
        now = shown(page, state.TEMP_SAMPLER)
        want = expected_temperature(on_page, now["t"])
        assert [dict(model=r["model"], sampling=r["sampling"]) for r in now["rows"]] == want["rows"], now
        same_caption(now["caption"], want)

    check()
    runs = run_mark(page)
    temperature = control(page, state.TEMP_SAMPLER, "temperature")
    seen = drag(page, temperature, [0.2, 0.1, 0.0, 0.3, 0.7, 0.9], check)  # 0 to 5: the curve's grid grows past 3
    assert 0.0 in seen and max(seen) > 3, seen
    assert run_mark(page) == runs, "a slider move reached the server"
    page.mouse.up()
    wait_for_run(page, since=runs)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('t') === '{seen[-1]:g}'")
    screenshot(page, "client_sampler_temperature")

    # A lesson button sets the temperature on the server: the sampler in the page takes it over.
    runs = run_mark(page)
    page.get_by_role("button", name="The five-word vocabulary at temperature 0.5").click()
    wait_for_run(page, since=runs)
    page.wait_for_function("() => window.__nteSampler.draws > 0")
    expect_value = "() => document.querySelector('#nte-temperature').value === '0.5'"
    page.wait_for_function(expect_value)
    assert shown(page, state.TEMP_SAMPLER)["caption"].startswith("Entropy at T = 0.5: ")
    report("temperature page", timings(page))
    assert not page.dialogs
