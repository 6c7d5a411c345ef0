"""One forward-pass record per (model, prompt), shared by the next-token, attention and logit-lens pages."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ui.memo
from core.attention import attention_maps
from core.forward import ForwardRecord, Need, forward_record
from core.logit_lens import layer_predictions
from core.next_token import next_token_distribution
from core.prompt import encode_prompt

PROMPT = "The package left the regional warehouse and"


@pytest.mark.parametrize("fixture", ["bundled_lm", "tiny_gpt2_lm", "tiny_llama_lm"])
def test_record_holds_what_was_asked_and_matches_a_full_pass(fixture, request):
    lm = request.getfixturevalue(fixture)
    ids, _ = encode_prompt(lm, PROMPT)
    with torch.inference_mode():
        full = lm.model(input_ids=torch.tensor([ids]), use_cache=False, output_hidden_states=True)
    plain = forward_record(lm, ids)
    assert plain.logits.shape == (1, full.logits.shape[-1]) and plain.attentions is None and plain.hidden_states is None
    # logits_to_keep=1 projects one row instead of T: the same numbers up to the matmul's float rounding
    torch.testing.assert_close(plain.next_token_logits, full.logits[0, -1].float(), atol=1e-4, rtol=0)
    rich = forward_record(lm, ids, Need(positions=3, attentions=True, hidden_states=True))
    L, H = lm.facts.layers, lm.facts.attention_heads
    assert rich.attentions.shape == (L, H, len(ids), len(ids))
    assert len(rich.hidden_states) == L + 1 and rich.hidden_states[0].shape == (
        len(ids),
        full.hidden_states[0].shape[-1],
    )
    # asking for weights runs eager attention: the same logits up to float rounding (sdpa sums in another order)
    torch.testing.assert_close(rich.logits, full.logits[0, -3:].float(), atol=1e-4, rtol=0)
    assert np.allclose(rich.attentions.sum(-1), 1.0, atol=1e-5)  # every query row is a distribution
    assert rich.covers(Need(positions=2, attentions=True)) and not plain.covers(Need(attentions=True))
    assert rich.nbytes > plain.nbytes


def test_need_union():
    assert Need(1, True, False).union(Need(4, False, True)) == Need(4, True, True)


@pytest.fixture()
def session(monkeypatch):
    """ui.memo.session_forward on a plain dict as session state, counting the model passes it runs."""
    monkeypatch.setattr(ui.memo, "st", SimpleNamespace(session_state={}))
    passes: list[Need] = []

    def counted(lm, ids, need=None) -> ForwardRecord:
        passes.append(need)
        return forward_record(lm, ids, need)

    monkeypatch.setattr(ui.memo, "shared_forward", counted)
    return passes


def test_three_pages_on_one_prompt_share_the_passes(bundled_lm, session):
    lm, shared = bundled_lm, ui.memo.session_forward()
    maps = attention_maps(lm, PROMPT, forward=shared)
    lens = layer_predictions(lm, PROMPT, 5, grid_positions=4, forward=shared)
    dist = next_token_distribution(lm, PROMPT, forward=shared)
    assert len(session) == 2  # attention's pass, then one pass for attention + lens; next-token reads it
    assert session[-1] == Need(positions=4, attentions=True, hidden_states=True)
    for _ in range(2):  # every page again, in another order: no pass at all
        next_token_distribution(lm, PROMPT, forward=shared)
        layer_predictions(lm, PROMPT, 5, grid_positions=4, forward=shared)
        attention_maps(lm, PROMPT, forward=shared)
    assert len(session) == 2
    # The shared answers are the ones each page computes alone (eager attention's logits differ from sdpa's only
    # in float rounding).
    alone = next_token_distribution(lm, PROMPT)
    torch.testing.assert_close(dist.probs, alone.probs, atol=5e-5, rtol=0)  # far below the 0.1 % the page shows
    assert dist.top_ids(10) == alone.top_ids(10)
    np.testing.assert_allclose(maps.weights, attention_maps(lm, PROMPT).weights, atol=1e-6)
    lens_alone = layer_predictions(lm, PROMPT, 5, grid_positions=4)
    np.testing.assert_allclose(lens.final_prob, lens_alone.final_prob, atol=5e-5)
    assert lens.final_ids == lens_alone.final_ids and (lens.top_ids == lens_alone.top_ids).all()


def test_a_new_prompt_or_model_gets_its_own_record(bundled_lm, tiny_gpt2_lm, session):
    shared = ui.memo.session_forward()
    next_token_distribution(bundled_lm, PROMPT, forward=shared)
    next_token_distribution(bundled_lm, PROMPT + " then", forward=shared)
    next_token_distribution(tiny_gpt2_lm, PROMPT, forward=shared)
    next_token_distribution(bundled_lm, PROMPT, forward=shared)
    assert len(session) == 3
    table = ui.memo.st.session_state[ui.memo.state.MEMO]["forward"]
    assert len(table) <= ui.memo.FORWARD_RECORDS
