"""AppTests through app.py: home, next-token and temperature pages, with interaction and bad input."""

import pytest

from core.seed_examples import SUPPORT_BOT_EXPECTED
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, values
from ui import state


def test_home_links_every_page():
    at = open_page()
    text = all_text(at)
    assert "Next-Token Explorer" in text
    assert len(at.sidebar.selectbox) >= 1  # the model picker
    assert "In use" in all_text(at) or any("In use" in c.value for c in at.sidebar.caption)


def test_next_token_page_shows_paris_and_the_other_bar():
    at = open_page("app_pages/next_token.py")
    spec = plotly_specs(at)[0]
    labels = spec["data"][0]["y"]
    assert labels[0] == "1. ␣Paris" and labels[-1].startswith("all other tokens (49,142)")
    model_p = values(spec["data"][0]["x"])
    assert 0.6 < model_p[0] < 0.9 and abs(sum(model_p) - 1) < 1e-4
    assert [m.label for m in at.metric][:2] == ["Entropy (model)", "Effective choices"]


def test_sampling_controls_do_not_rerun_the_model_and_change_bars():
    at = open_page("app_pages/next_token.py")
    memo = at.session_state[state.MEMO]["next_token"]
    cached = next(iter(memo.values()))
    at.slider(key="next_token.temperature").set_value(0.0).run()
    assert_clean(at)
    assert next(iter(at.session_state[state.MEMO]["next_token"].values())) is cached  # same object: no new forward
    sampling = plotly_specs(at)[0]["data"][1]
    assert sampling["text"][0] == "100.0%" and set(sampling["text"][1:]) == {"cut"}
    at.slider(key="next_token.temperature").set_value(1.0).run()
    at.number_input(key="next_token.top_k").set_value(3).run()
    assert values(plotly_specs(at)[0]["data"][1]["x"])[3] == 0.0
    at.slider(key="next_token.top_p").set_value(0.0).run()
    assert any("at least one" in c.value for c in at.caption)
    assert "1 of 49,152" in at.metric[3].value


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
    assert len(plotly_specs(at)) == 1  # the compare expander is collapsed: it draws (and computes) nothing
    at.session_state[state.NT_COMPARE_OPEN] = True  # what opening the expander in the browser sets
    at.run()
    assert len(plotly_specs(at)) == 4  # main chart + seed 001's three prompts
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(at)[1:]]
    assert titles == ["The package left the", "The package left the regional", "The package left the checkout"]


def test_toy_mode_defaults_to_the_seed_example():
    at = open_page("app_pages/next_token.py")
    at.radio(key="next_token.mode").set_value("Toy vocabulary").run()
    spec = plotly_specs(at)[0]
    assert [round(p, 3) for p in values(spec["data"][0]["x"])] == list(SUPPORT_BOT_EXPECTED[1.0])
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
        assert not plotly_specs(at)
    else:
        assert plotly_specs(at)
    at.text_area(key="next_token.prompt").set_value("The capital of France is").run()
    assert plotly_specs(at)[0]["data"][0]["y"][0] == "1. ␣Paris"


def test_temperature_page_reproduces_seed_001_in_toy_mode():
    at = open_page("app_pages/temperature.py")
    at.radio(key="temperature.source").set_value("Toy vocabulary").run()
    assert_clean(at)
    frame = at.dataframe[0].value
    for t, expected in SUPPORT_BOT_EXPECTED.items():
        assert frame[f"T = {t:g}"].round(3).tolist() == list(expected)
    panels = [s for s in plotly_specs(at) if len(s["data"]) == 3][0]
    assert [a["text"] for a in panels["layout"]["annotations"]] == ["T = 0.5", "T = 1", "T = 2"]


def test_temperature_slider_moves_the_entropy_marker_and_greedy_is_zero():
    at = open_page("app_pages/temperature.py")
    at.slider(key="temperature.value").set_value(0.0).run()
    assert_clean(at)
    marker = [s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Entropy")][0]["data"][1]
    assert values(marker["x"]) == [0.0] and values(marker["y"]) == [0.0]
    at.slider(key="temperature.value").set_value(3.0).run()
    marker = [s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Entropy")][0]["data"][1]
    assert values(marker["y"])[0] > 5


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
    assert at.slider(key="next_token.temperature").value == 0.0
    assert at.number_input(key="next_token.top_k").value == 0  # 'abc' ignored
    notes = " ".join(c.value for c in at.caption)
    assert "Ignored the link's 'top_k'" in notes and "Ignored the link's 'top_p'" in notes
    assert plotly_specs(at)[0]["data"][0]["y"][0] == "1. ␣package"
    assert at.query_params["t"] in ("0", ["0"]) and at.query_params["prompt"] in (
        "The package left the",
        ["The package left the"],
    )


def test_presenter_mode_hides_the_extras():
    at = open_page("app_pages/next_token.py")
    at.session_state[state.NT_COMPARE_OPEN] = True
    at.run()
    assert len(plotly_specs(at)) == 4 and at.expander
    at.sidebar.toggle(key="shared.presenter").set_value(True).run()
    assert_clean(at)
    assert len(plotly_specs(at)) == 1  # the main chart only: no comparison charts, no table
    assert any("font-size" in h.proto.body for h in at.get("html"))
