"""core.embeddings: neighbours by cosine, words as tokens, the PCA map, and analogies measured on SmolLM2-135M."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.embeddings import (
    ANALOGIES,
    MAX_VOCAB_MAP,
    WORD_SETS,
    EmbeddingError,
    analogy,
    analogy_score,
    embedding_matrix,
    nearest_tokens,
    parse_words,
    pca_2d,
    project_vocabulary,
    project_words,
    tied_embeddings,
    token_neighbours,
    word_tokens,
)


@pytest.fixture(scope="module")
def char_lm():
    """Seed 003's tiny char-level GPT-2, trained for a few steps (what the Train page builds)."""
    from core.training import TOY_CORPUS, Trainer, TrainSettings

    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=20, eval_every=20, sample_every=20))
    while not trainer.finished:
        trainer.train_steps(20)
    return trainer.loaded_model("tiny char model (test)")


def test_smollm2_ties_its_matrices_and_a_config_llama_does_not(bundled_lm, tiny_llama_lm):
    assert tied_embeddings(bundled_lm)
    assert embedding_matrix(bundled_lm).shape == (49152, 576)
    torch.testing.assert_close(embedding_matrix(bundled_lm, "input"), embedding_matrix(bundled_lm, "output"))
    assert not tied_embeddings(tiny_llama_lm)
    assert not torch.equal(embedding_matrix(tiny_llama_lm, "input"), embedding_matrix(tiny_llama_lm, "output"))


def test_nearest_tokens_equal_torch_cosine_similarity_over_the_whole_vocabulary(bundled_lm, tiny_llama_lm):
    for lm, which in ((bundled_lm, "input"), (tiny_llama_lm, "output")):
        matrix = embedding_matrix(lm, which)
        query = matrix[4197] - matrix[1000]
        reference = torch.nn.functional.cosine_similarity(matrix, query[None, :], dim=-1)
        values, ids = torch.topk(reference, 8)
        found = nearest_tokens(lm, query, 8, which)
        assert [n.token_id for n in found] == ids.tolist()
        np.testing.assert_allclose([n.cosine for n in found], values.numpy(), atol=1e-5)


def test_king_neighbours_are_royal_and_leave_the_token_out(bundled_lm):
    king = word_tokens(bundled_lm, "king")
    assert king.single and king.labels == ("␣king",)
    found = token_neighbours(bundled_lm, king.ids[0], 10)
    labels = [n.label for n in found]
    assert "␣king" not in labels
    assert labels[0] == "␣King" and "␣queen" in labels
    assert all(a.cosine >= b.cosine for a, b in zip(found, found[1:], strict=False))


def test_untied_model_gives_different_lists_for_input_and_output(tiny_llama_lm):
    first = token_neighbours(tiny_llama_lm, 4197, 5, "input")
    second = token_neighbours(tiny_llama_lm, 4197, 5, "output")
    assert [n.token_id for n in first] != [n.token_id for n in second]


def test_word_tokens_shows_how_a_word_splits_and_refuses_bad_input(bundled_lm):
    assert word_tokens(bundled_lm, "Paris", leading_space=False).labels == ("Paris",)
    seven = word_tokens(bundled_lm, "7")  # SmolLM2 splits the space off a digit
    assert seven.labels == ("␣", "7") and seven.spaces == (0,) and seven.used_ids("first") == (seven.ids[1],)
    emoji = word_tokens(bundled_lm, "😀")
    assert len(emoji.ids) == 2 and "[" in emoji.labels[0]  # a partial character shows its bytes
    script = word_tokens(bundled_lm, "<script>", leading_space=False)
    assert script.labels == ("<", "script", ">")
    for bad, says in (("", "Type a word"), ("\u200b\u200b", "invisible"), ("x" * 500, "500 characters")):
        with pytest.raises(EmbeddingError, match=says):
            word_tokens(bundled_lm, bad)


def test_parse_words_dedupes_and_caps():
    assert parse_words("cat, dog,, cat , Paris\nLondon") == ["cat", "dog", "Paris", "London"]
    with pytest.raises(EmbeddingError, match="at least 3"):
        parse_words("cat, cat, dog")
    with pytest.raises(EmbeddingError, match="at most 40"):
        parse_words(", ".join(f"w{i}" for i in range(41)))
    with pytest.raises(EmbeddingError, match="commas"):
        parse_words("   ")
    with pytest.raises(EmbeddingError, match="1,000"):
        parse_words("a," * 600)


def test_pca_matches_the_covariance_eigenvectors():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 30, generator=gen) * torch.linspace(3, 0.1, 30)
    coords, explained = pca_2d(x)
    centred = (x - x.mean(0)).double().numpy()
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
    top = eigvecs[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(coords.numpy()), np.abs(centred @ top), atol=1e-4)
    np.testing.assert_allclose(explained, eigvals[::-1][:2] / eigvals.sum(), atol=1e-6)
    assert explained[0] >= explained[1] > 0 and sum(explained) <= 1
    np.testing.assert_allclose(coords.numpy().mean(0), 0, atol=1e-5)
    assert (coords.numpy()[np.abs(coords.numpy()).argmax(0), [0, 1]] > 0).all()  # the fixed sign
    with pytest.raises(ValueError, match="at least 3"):
        pca_2d(x[:2])
    with pytest.raises(ValueError, match="same point"):
        pca_2d(torch.ones(4, 5))


def test_countries_and_capitals_fall_on_two_sides_of_the_first_component(bundled_lm):
    projection = project_words(bundled_lm, WORD_SETS["Countries and capitals"])
    x = projection.coords[:, 0].numpy()
    groups = np.array(projection.groups)
    assert np.sign(x[groups == "country"].mean()) != np.sign(x[groups == "capital"].mean())
    assert (x[groups == "country"] < 0).all() or (x[groups == "country"] > 0).all()
    assert 0.1 < projection.explained[0] < 0.6 and projection.explained[1] < projection.explained[0]
    assert projection.notes == ()  # every word of this set is one SmolLM2 token


def test_words_of_several_tokens_are_named_and_first_or_mean_differ(bundled_lm):
    words = ["cat", "dog", "Canberra", "antidisestablishmentarianism"]
    first = project_words(bundled_lm, words, how="first")
    mean = project_words(bundled_lm, words, how="mean")
    assert any("antidisestablishmentarianism" in note and "first token" in note for note in first.notes)
    assert any("mean" in note for note in mean.notes)
    assert not torch.allclose(first.coords, mean.coords)
    numbers = project_words(bundled_lm, WORD_SETS["Numbers"])
    assert sum("space before it is skipped" in note for note in numbers.notes) == 9  # the digits


def test_classic_analogies_work_on_smollm2_135m(bundled_lm):
    score = analogy_score(bundled_lm)
    print(
        f"\nanalogies on SmolLM2-135M: {score.hits}/{len(score.tested)} = {score.rate:.0%} "
        f"(nearest to c alone: {score.baseline_hits})"
    )
    assert len(score.tested) == len(ANALOGIES) and not score.skipped  # every classic word is one token here
    assert score.rate >= 0.6 and score.works  # measured: 12 of 16
    assert score.hits >= score.baseline_hits + 5  # measured: 4 of 16 without the offset
    king = analogy(bundled_lm, "king", "man", "woman", expected="queen")
    assert king.hit and king.neighbours[0].label == "␣queen"
    assert {n.token_id for n in king.neighbours}.isdisjoint({t.ids[0] for t in king.tokens})
    assert king.baseline.label == "␣women"  # queen comes from the offset, not from woman's own neighbourhood


def test_char_model_has_a_small_vocabulary_to_map_whole_and_no_measurable_analogies(char_lm):
    vocab = embedding_matrix(char_lm).shape[0]
    assert vocab <= MAX_VOCAB_MAP
    projection = project_vocabulary(char_lm)
    assert len(projection.labels) == vocab - 4  # the four special tokens left out
    assert "a" in projection.labels and "␣" in projection.labels
    score = analogy_score(char_lm)
    assert score.tested == () and len(score.skipped) == len(ANALOGIES) and not score.works
    king = word_tokens(char_lm, "king")
    assert king.labels[1:] == ("k", "i", "n", "g") and king.used_ids("first") == (king.ids[1],)
    assert word_tokens(char_lm, "Ωmega", leading_space=False).unknown == (0,)
    found = token_neighbours(char_lm, king.ids[1], 30)
    assert len(found) == 30 and king.ids[1] not in {n.token_id for n in found}


def test_a_large_vocabulary_is_not_drawn_whole(bundled_lm):
    with pytest.raises(EmbeddingError, match="49,152 tokens"):
        project_vocabulary(bundled_lm)
