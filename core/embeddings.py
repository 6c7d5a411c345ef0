"""Token embeddings: the rows of the embedding (input) and unembedding (output) matrices, and their neighbours.

Seed 004: a token id picks one row of the embedding matrix (V, d); the output head's matrix (V, d) turns the
last hidden state back into one logit per token. Models that tie the two share one matrix (SmolLM2 does).
Neighbours are by cosine similarity over the whole vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from core.models import LoadedModel
from core.text import token_label

Matrix = Literal["input", "output"]


@dataclass(frozen=True)
class Neighbour:
    """One token near a query vector: its id, readable label and cosine similarity."""

    token_id: int
    label: str
    cosine: float


def embedding_matrix(lm: LoadedModel, which: Matrix = "input") -> torch.Tensor:
    """The (V, d) embedding matrix (``"input"``) or unembedding matrix (``"output"``) of the model, float32.

    Raises:
        ValueError: ``which`` is neither, or the model has no such matrix.
    """
    if which not in ("input", "output"):
        raise ValueError(f"which must be 'input' or 'output', got {which!r}")
    module = lm.model.get_input_embeddings() if which == "input" else lm.model.get_output_embeddings()
    if module is None or not hasattr(module, "weight"):
        raise ValueError(f"{type(lm.model).__name__} has no {which} embedding matrix")
    return module.weight.detach().float()  # (V, d)


def tied_embeddings(lm: LoadedModel) -> bool:
    """Whether the input and output matrices are the same tensor (weight tying)."""
    inp, out = lm.model.get_input_embeddings(), lm.model.get_output_embeddings()
    return out is not None and inp.weight.data_ptr() == out.weight.data_ptr()


@torch.inference_mode()
def nearest_tokens(
    lm: LoadedModel,
    vector: torch.Tensor,
    k: int = 8,
    which: Matrix = "input",
    exclude: tuple[int, ...] = (),
) -> list[Neighbour]:
    """The ``k`` tokens whose rows of the chosen matrix have the highest cosine similarity with ``vector``.

    Args:
        lm: the model.
        vector: (d,) a query vector in the model's hidden space (an embedding row, a hidden state, a difference).
        k: how many neighbours (1 to 100).
        which: ``"input"`` (embedding matrix) or ``"output"`` (unembedding matrix).
        exclude: token ids left out (the query token itself, say).

    Returns:
        Up to ``k`` neighbours, most similar first.
    """
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    matrix = embedding_matrix(lm, which)  # (V, d)
    query = vector.detach().float().reshape(-1)  # (d,)
    if query.shape[0] != matrix.shape[1]:
        raise ValueError(f"vector has {query.shape[0]} values, the matrix rows have {matrix.shape[1]}")
    cosine = torch.nn.functional.cosine_similarity(matrix, query[None, :], dim=-1)  # (V,)
    if exclude:
        cosine[list(exclude)] = -float("inf")
    values, ids = torch.topk(cosine, min(k, cosine.shape[0] - len(exclude)))
    return [Neighbour(int(i), token_label(lm.tokenizer, int(i)), float(v)) for v, i in zip(values, ids, strict=True)]


def token_neighbours(lm: LoadedModel, token_id: int, k: int = 8, which: Matrix = "input") -> list[Neighbour]:
    """The ``k`` nearest tokens to ``token_id``'s own row of the chosen matrix (itself left out)."""
    vocab = embedding_matrix(lm, which).shape[0]
    if not 0 <= token_id < vocab:
        raise ValueError(f"token id must be between 0 and {vocab - 1}, got {token_id}")
    row = embedding_matrix(lm, which)[token_id]  # (d,)
    return nearest_tokens(lm, row, k, which, exclude=(token_id,))

