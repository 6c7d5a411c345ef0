"""The class benchmark's light client (benchmarks/streamlit_client.py) against real `streamlit run` servers: the app's
next-token page through a shared link, and a tiny app with an st.fragment and an st.rerun()."""

from __future__ import annotations

import math
import textwrap

import pytest

from benchmarks.bench_class import REPO, Server
from benchmarks.class_lesson import LINK_QUERY, SAMPLER, sampler_answer, sampler_settings
from benchmarks.streamlit_client import StreamlitClient, run_coroutine, widget_key

pytestmark = [pytest.mark.slow, pytest.mark.server]  # real `streamlit run` servers: not in make check


@pytest.fixture
def serve():
    """Start `streamlit run app.py` in a folder on a free port; stopped (with its log closed) after the test."""
    servers = []

    def start(app_root):
        server = Server(app_root)
        servers.append(server)
        server.start()
        return server.url

    yield start
    for server in servers:
        server.stop()


def test_widget_key_is_the_user_key_inside_the_element_id():
    assert widget_key("$$ID-0b03c172edb1d159c47f71a20d4f5ff4-next_token.top_p") == "next_token.top_p"
    assert widget_key("$$ID-0b03c172edb1d159c47f71a20d4f5ff4-a-key-with-dashes") == "a-key-with-dashes"
    assert widget_key("$$ID-0b03c172edb1d159c47f71a20d4f5ff4") is None
    assert widget_key("") is None


def test_client_opens_a_shared_link_and_moves_temperature(serve):
    url = serve(REPO)

    async def lesson_start():
        async with StreamlitClient(url, timeout=240) as client:
            opened = await client.open("next_token", LINK_QUERY)
            data = client.component_data(SAMPLER)  # the client-side sampler's data: it draws the bars
            first, temperature = sampler_answer(data), data["settings"]["temperature"]
            moved = await client.set(SAMPLER, sampler_settings(0.5))  # what the browser sends on letting go
            after = client.component_data(SAMPLER)
            assert after["settings"]["temperature"] == 0.5 and after["logits"] == data["logits"]  # same prompt
            return client, opened, first, temperature, moved, sampler_answer(after)

    client, opened, first, t_before, moved, second = run_coroutine(lesson_start())
    assert client.errors == []
    assert client.page_path == "next_token" and client.pages["next_token"] == client.page_hash
    assert "prompt=The" in client.query_string  # the page wrote its inputs back into the URL
    assert t_before == 1.0  # the link's t=1.0 reached the sampler
    model, sampling = first
    labels, probs = zip(*model[1])
    assert "Paris" in labels[0] and labels[0].strip(" .0123456789")  # a real token string, ranked first
    assert all(0 <= p <= 1 for p in probs) and sum(probs) <= 1 + 0.01  # shown ones + "all other tokens", rounded
    assert second != first and second[1] != sampling  # the sampling bars follow the new temperature
    assert second[1][1][0][1] > sampling[1][0][1]  # T = 0.5 sharpens: the top token gains
    assert [i.kind for i in (opened, moved)] == ["open page", "set next_token.sampler"]
    assert moved.fragment  # letting go reruns only the sampler's fragment
    assert all(i.seconds > 0 and not math.isnan(i.seconds) for i in client.interactions)


TINY_APP = textwrap.dedent(
    """
    import streamlit as st

    st.session_state.setdefault("full_runs", 0)
    st.session_state["full_runs"] += 1
    st.markdown(f"full runs: {st.session_state['full_runs']}")

    @st.fragment
    def panel():
        x = st.slider("x", 0, 10, 3, key="panel.x")
        st.markdown(f"x squared: {x * x}")

    panel()
    if st.button("Again", key="again") and not st.session_state.get("reran"):
        st.session_state["reran"] = True
        st.rerun()
    st.markdown(f"reran: {bool(st.session_state.get('reran'))}")
    """
)


def test_client_reruns_only_the_fragment_and_follows_st_rerun(serve, tmp_path):
    (tmp_path / "app.py").write_text(TINY_APP)
    url = serve(tmp_path)

    async def session():
        async with StreamlitClient(url, timeout=60) as client:
            await client.open("")
            texts = [[m.body for m in client.elements("markdown")]]
            moved = await client.set("panel.x", [5])
            texts.append([m.body for m in client.elements("markdown")])
            clicked = await client.click("again")
            texts.append([m.body for m in client.elements("markdown")])
            return client, moved, clicked, texts

    client, moved, clicked, (opened, after_slider, after_click) = run_coroutine(session())
    assert client.errors == []
    assert opened == ["full runs: 1", "x squared: 9", "reran: False"]
    # the slider lives in the fragment: only the fragment reran, and the rest of the page is still there
    assert moved.fragment and client.widget("panel.x").fragment_id
    assert after_slider == ["full runs: 1", "x squared: 25", "reran: False"]
    # the button's run called st.rerun(): the interaction ends with the second run, whose page it reads
    assert not clicked.fragment
    assert after_click == ["full runs: 3", "x squared: 25", "reran: True"]
