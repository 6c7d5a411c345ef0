"""The page registry: every page's file, title, icon and one-line description, in menu order.

Every registered file must exist: a page renamed or deleted without its entry stops the app with an error naming
the file, rather than vanishing from the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    blurb: str


PAGES = (
    PageInfo("app_pages/home.py", "Home", ":material/home:", "What this app is."),
    PageInfo(
        "app_pages/next_token.py",
        "Next-token probabilities",
        ":material/bar_chart:",
        "Type a prompt and see the model's probability for every possible next token.",
    ),
    PageInfo(
        "app_pages/pipeline.py",
        "The whole pipeline",
        ":material/account_tree:",
        "Follow the last token from its id through every layer to the sampled token and the KV cache.",
    ),
    PageInfo(
        "app_pages/lessons.py",
        "Guided lessons",
        ":material/school:",
        "Work through the lessons step by step; the app checks your answers against the model and the lessons.",
    ),
    PageInfo(
        "app_pages/class_poll.py",
        "Class poll",
        ":material/how_to_vote:",
        "The class guesses the next token on their phones; then the model shows its answer.",
    ),
    PageInfo(
        "app_pages/predict_first.py",
        "Predict first",
        ":material/psychology:",
        "Read a text word by word and guess each next token before the model's answer appears.",
    ),
    PageInfo(
        "app_pages/temperature.py",
        "Temperature",
        ":material/thermostat:",
        "Watch the same distribution sharpen or flatten as temperature moves.",
    ),
    PageInfo(
        "app_pages/generation.py",
        "Step-by-step generation",
        ":material/skip_next:",
        "Generate one token at a time, be the sampler, rewind, and see the KV cache grow.",
    ),
    PageInfo(
        "app_pages/generation_tree.py",
        "Generation tree",
        ":material/account_tree:",
        "Explore continuations as a tree of tokens; watch a beam search and compare it with greedy and sampling.",
    ),
    PageInfo(
        "app_pages/attention.py",
        "Attention",
        ":material/grid_on:",
        "Heatmaps of which earlier tokens each token looks at, per layer and head.",
    ),
    PageInfo(
        "app_pages/logit_lens.py",
        "Layer by layer",
        ":material/layers:",
        "What the model would predict if it stopped at each layer (the logit lens).",
    ),
    PageInfo(
        "app_pages/embeddings.py",
        "Embeddings",
        ":material/scatter_plot:",
        "Each token is a row of numbers: find its nearest tokens, map words in 2-D, try king − man + woman.",
    ),
    PageInfo(
        "app_pages/perplexity.py",
        "Perplexity",
        ":material/functions:",
        "Score your own text: how surprised is the model by each token?",
    ),
    PageInfo(
        "app_pages/kv_cache.py",
        "KV-cache memory",
        ":material/memory:",
        "Work out how much memory a KV cache needs, checked against a real cache.",
    ),
    PageInfo(
        "app_pages/tokenizer.py",
        "Tokenizer",
        ":material/text_fields:",
        "See how text becomes tokens, and train a small BPE tokenizer yourself.",
    ),
    PageInfo(
        "app_pages/ngram.py",
        "N-gram model",
        ":material/table_chart:",
        "Count-based next-token prediction: bigrams, smoothing and their perplexity.",
    ),
    PageInfo(
        "app_pages/train.py",
        "Train a tiny GPT",
        ":material/model_training:",
        "Train a small GPT on a toy corpus, then explore it with every page.",
    ),
)


class MissingPageError(RuntimeError):
    """A registered page's file does not exist (renamed or deleted without updating ``PAGES``)."""


def available_pages() -> list[PageInfo]:
    """Every registered page, in menu order.

    Raises:
        MissingPageError: a registered page's file is missing; the message names each one.
    """
    missing = [p.path for p in PAGES if not (ROOT / p.path).is_file()]
    if missing:
        raise MissingPageError(
            f"ui/navigation.py registers page files that do not exist: {', '.join(missing)}. "
            "Restore the file or update its entry in PAGES."
        )
    return list(PAGES)
