"""AppTests through app.py: home, next-token and temperature pages, with interaction and bad input."""

import pytest

from components.client_sampler import decode_logits
from core.seed_examples import SUPPORT_BOT_EXPECTED
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, sampler_payloads
from ui import state


def test_home_links_every_page():
    at = open_page()
    text = all_text(at)
    assert "Next-Token Explorer" in text
    assert len(at.sidebar.selectbox) >= 1  # the model picker
    assert "In use" in all_text(at) or any("In use" in c.value for c in at.sidebar.caption)


def test_next_token_page_shows_paris_and_the_other_bar():
    at = open_page("app_pages/next_token.py")
    (data,) = sampler_payloads(at)  # the bars are drawn in the browser from this (tests/browser: the numbers)
    assert data["rows"][0]["label"] == "␣Paris" and data["other_label"].startswith("all other tokens (49,142)")
    model_p = [row["model"] for row in data["rows"]] + [data["model_rest"]]
    assert 0.6 < model_p[0] < 0.9 and abs(sum(model_p) - 1) < 1e-4
    logits = decode_logits(data)  # (V,) the whole vocabulary, most likely first
    assert logits.shape == (49_152,) and bool((logits[:-1] >= logits[1:]).all())


def test_settings_let_go_of_do_not_rerun_the_model_and_the_sample_follows_them():
    at = open_page("app_pages/next_token.py")
    memo = at.session_state[state.MEMO]["next_token"]
    cached = next(iter(memo.values()))
    at.session_state[state.NT_TEMPERATURE] = 0.0  # what letting go of the browser's slider stores (ui.client_sampler)
    at.run()
    assert_clean(at)
    assert next(iter(at.session_state[state.MEMO]["next_token"].values())) is cached  # same object: no new forward
    assert sampler_payloads(at)[0]["settings"] == {"temperature": 0.0, "top_k": 0, "top_p": 1.0}
    at.button(key="next_token.sample").click().run()
    assert at.session_state[state.NT_LAST_SAMPLE].token == "␣Paris"  # greedy: the top token, whatever the seed
    assert at.session_state[state.NT_LAST_SAMPLE].sampling_probability == 1.0
    at.session_state[state.NT_TEMPERATURE] = 3.0
    at.session_state[state.NT_TOP_K] = 3
    at.run()
    for seed in range(4):  # at T = 3 most draws would fall outside the top 3 without top-k
        at.number_input(key="next_token.seed").set_value(seed).run()
        top3 = [row["label"] for row in sampler_payloads(at)[0]["rows"][:3]]  # each sample lengthens the prompt
        at.button(key="next_token.sample").click().run()
        assert_clean(at)
        assert at.session_state[state.NT_LAST_SAMPLE].token in top3


def test_sample_a_token_appends_to_the_prompt_and_is_seeded():
    results = []
    for _ in range(2):
        at = open_page("app_pages/next_token.py")
        at.number_input(key="next_token.seed").set_value(3).run()
        at.button(key="next_token.sample").click().run()
        assert_clean(at)
        results.append(at.text_area(key="next_token.prompt").value)
    assert results[0] == results[1]
    assert results[0].startswith("The capital of France is") and len(results[0]) > len("The capital of France is")


def test_compare_prompts_shows_three_charts():
    at = open_page("app_pages/next_token.py")
    assert not plotly_specs(at)  # the compare expander is collapsed: it draws (and computes) nothing
    at.session_state[state.NT_COMPARE_OPEN] = True  # what opening the expander in the browser sets
    at.run()
    assert len(plotly_specs(at)) == 3  # seed 001's three prompts (the main bars are drawn in the browser)
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(at)]
    assert titles == ["The package left the", "The package left the regional", "The package left the checkout"]


def test_toy_mode_defaults_to_the_seed_example():
    at = open_page("app_pages/next_token.py")
    at.radio(key="next_token.mode").set_value("Toy vocabulary").run()
    (data,) = sampler_payloads(at)
    assert [round(row["model"], 3) for row in data["rows"]] == list(SUPPORT_BOT_EXPECTED[1.0])
    assert data["model_rest"] is None  # the five tokens are the whole vocabulary: no "all other tokens" bar
    at.text_input(key="next_token.toy_logits").set_value("1, two").run()
    assert_clean(at)
    assert any("not a number" in i.value for i in at.info)


@pytest.mark.parametrize(
    "prompt,expect",
    [
        ("", "Type a prompt"),
        ("   \n ", "Type a prompt"),
        ("<script>alert(1)</script><img src=x onerror=alert(2)>", None),
        ("🎉 東京 مرحبا \u200b", None),
        ("🎉 東京 مرحبا \u202e", "U+202E"),
    ],
)
def test_bad_prompts_never_break_the_page(prompt, expect):
    at = open_page("app_pages/next_token.py")
    at.text_area(key="next_token.prompt").set_value(prompt).run()
    assert_clean(at)
    if expect:
        assert any(expect in i.value for i in at.info)
        assert not sampler_payloads(at)
    else:
        assert sampler_payloads(at)
    at.text_area(key="next_token.prompt").set_value("The capital of France is").run()
    assert sampler_payloads(at)[0]["rows"][0]["label"] == "␣Paris"


def test_temperature_page_reproduces_seed_001_in_toy_mode():
    at = open_page("app_pages/temperature.py")
    at.radio(key="temperature.source").set_value("Toy vocabulary").run()
    assert_clean(at)
    frame = at.dataframe[0].value
    for t, expected in SUPPORT_BOT_EXPECTED.items():
        assert frame[f"T = {t:g}"].round(3).tolist() == list(expected)
    panels = [s for s in plotly_specs(at) if len(s["data"]) == 3][0]
    assert [a["text"] for a in panels["layout"]["annotations"]] == ["T = 0.5", "T = 1", "T = 2"]


def test_temperature_page_sends_its_sampler_the_temperature_let_go_of():
    at = open_page("app_pages/temperature.py")
    (data,) = sampler_payloads(at)  # the bars, the entropy curve and its caption are drawn in the browser
    assert data["page"] == "temperature" and data["settings"]["temperature"] == 1.0
    assert data["bounds"]["max_temperature"] == 5.0 and len(data["rows"]) == 8
    at.session_state[state.TEMP_VALUE] = 0.0  # what letting go of the browser's slider stores
    at.run()
    assert_clean(at)
    assert sampler_payloads(at)[0]["settings"]["temperature"] == 0.0
    assert at.query_params["t"] in ("0", ["0"])


def test_temperature_page_warehouse_preset_gives_the_seed_samples():
    at = open_page("app_pages/temperature.py")
    at.radio(key="temperature.source").set_value("Toy vocabulary").run()
    at.selectbox(key="temperature.preset").set_value("Warehouse / hub / carrier (the next-token lesson)").run()
    assert_clean(at)
    text = "\n".join(t.value for t in at.text)
    assert "[0.551, 0.334, 0.115]" in text
    assert "['carrier', 'warehouse', 'carrier', 'warehouse', 'hub', 'warehouse', 'hub', 'warehouse']" in text


def test_a_shared_link_reproduces_the_view_and_hostile_values_are_ignored():
    from streamlit.testing.v1 import AppTest

    from tests.app.helpers import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"prompt": "The package left the", "t": "0", "top_k": "abc", "top_p": "nan", "seed": "5"})
    at.run()
    at.switch_page("app_pages/next_token.py").run()
    assert_clean(at)
    assert at.text_area(key="next_token.prompt").value == "The package left the"
    assert at.session_state[state.NT_TEMPERATURE] == 0.0
    assert at.session_state[state.NT_TOP_K] == 0  # 'abc' ignored
    assert sampler_payloads(at)[0]["settings"] == {"temperature": 0.0, "top_k": 0, "top_p": 1.0}
    notes = " ".join(e.value for e in [*at.caption, *at.info, *at.warning]).replace("\\", "")  # markdown-escaped
    assert "Ignored the link's 'top_k'" in notes and "Ignored the link's 'top_p'" in notes
    assert sampler_payloads(at)[0]["rows"][0]["label"] == "␣package"
    assert at.query_params["t"] in ("0", ["0"]) and at.query_params["prompt"] in (
        "The package left the",
        ["The package left the"],
    )


def test_presenter_mode_hides_the_extras():
    at = open_page("app_pages/next_token.py")
    at.session_state[state.NT_COMPARE_OPEN] = True
    at.run()
    assert len(plotly_specs(at)) == 3 and at.expander
    at.sidebar.toggle(key="shared.presenter").set_value(True).run()
    assert_clean(at)
    assert not plotly_specs(at)  # the main chart only (drawn in the browser): no comparison charts, no table
    assert sampler_payloads(at)[0]["presenter"] is True
    assert any("font-size" in h.proto.body for h in at.get("html"))
