"""The default prompt and example texts for the model in use: the lessons' texts for a real model, and for a tiny
model trained in the app, lines of its own corpus, so that no character is outside its vocabulary (no <unk>)."""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Any

from core.perplexity_examples import EXAMPLES, shuffled_words
from core.seed_examples import CAPITAL_PROMPT, PACKAGE_PROMPTS

PROBE = "\u2603"  # a snowman: a byte-level tokenizer encodes anything, a tiny model's vocabulary has no snowman
PASSAGE_CHARS = 320  # length of a corpus passage used as an example text
TEXTS_KEY = "corpus_texts"  # LoadedModel.extras key holding a trained model's ModelTexts (as a plain dict)


@dataclass(frozen=True)
class ModelTexts:
    """What every page starts from for one model.

    Attributes:
        prompt: the default prompt of every prompt box.
        line: a whole sentence, for the Train page's attention heatmap (seed 003 uses "the cat sat on the mat").
        compare: three prompts for the next-token page's side-by-side comparison.
        examples: perplexity example texts, from the least to the most surprising (label -> text).
        source: "lessons" (the lessons' texts), "corpus" (the model's corpus) or "vocabulary" (the lessons' texts
            cut down to the model's vocabulary: an uploaded model whose corpus is unknown).
    """

    prompt: str
    line: str
    compare: tuple[str, str, str]
    examples: dict[str, str]
    source: str

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for ``LoadedModel.extras`` (written into a model zip's training.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelTexts:
        return cls(
            prompt=str(data["prompt"]),
            line=str(data["line"]),
            compare=tuple(str(p) for p in data["compare"])[:3],  # type: ignore[arg-type]
            examples={str(k): str(v) for k, v in dict(data["examples"]).items()},
            source=str(data.get("source", "corpus")),
        )


LESSON_TEXTS = ModelTexts(
    prompt=CAPITAL_PROMPT,
    line=CAPITAL_PROMPT + " Paris.",
    compare=PACKAGE_PROMPTS,
    examples=dict(EXAMPLES),
    source="lessons",
)


def unknown_spans(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of ``text`` that ``tokenizer`` can only encode as its unknown token."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not text:
        return []
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return [(int(a), int(b)) for i, (a, b) in zip(encoded["input_ids"], encoded["offset_mapping"]) if i == unk]


def unknown_symbols(tokenizer: Any, text: str) -> list[str]:
    """The distinct pieces of ``text`` outside the vocabulary (each shown as <unk>), in order of appearance."""
    return list(dict.fromkeys(text[a:b] for a, b in unknown_spans(tokenizer, text)))


def closed_vocabulary(tokenizer: Any) -> bool:
    """Whether some text is outside the tokenizer's vocabulary (a tiny model's; never a byte-level BPE's)."""
    return bool(unknown_spans(tokenizer, PROBE))


def in_vocabulary(tokenizer: Any, text: str) -> str:
    """``text`` (lower-cased when that leaves fewer unknown pieces) without the pieces the tokenizer does not know."""
    candidates = (text, text.lower())
    best = min(candidates, key=lambda t: len(unknown_spans(tokenizer, t)))
    for _ in range(64):  # a removal can make a new unknown piece (a word-level model's word that now starts the text)
        spans = unknown_spans(tokenizer, best)
        if not spans:
            break
        kept, at = [], 0
        for a, b in spans:
            kept.append(best[at:a])
            at = b
        kept.append(best[at:])
        best = re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
    return best if not unknown_spans(tokenizer, best) else ""


def _corpus_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _without_last_word(line: str) -> str:
    words = line.split()
    return " ".join(words[:-1]) if len(words) > 1 else line


def _passage(text: str, limit: int = PASSAGE_CHARS) -> str:
    """The start of ``text`` up to ``limit`` characters, cut at a line break (or a space) when there is one."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 3:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].strip()


def _random_symbols(text: str, kind: str, seed: int) -> str:
    """Symbols of the corpus drawn at random (seeded): characters for a character model, words for a word model."""
    rng = random.Random(seed)
    if kind == "word":  # words that follow a space (a word-level vocabulary keeps the space: " cat")
        lines = _corpus_lines(text)
        inside = sorted({word for line in lines for word in line.split()[1:]}) or sorted(set(text.split()))
        return " ".join([lines[0].split()[0]] + [rng.choice(inside) for _ in range(30)])
    symbols = sorted(set(text) - {"\n", "\r", "\t"})
    return "".join(rng.choice(symbols) for _ in range(120))


def texts_from_corpus(
    corpus: str, kind: str = "char", heldout: str | None = None, seed: int = 1, tokenizer: Any = None
) -> ModelTexts:
    """Default prompt and example texts made of a trained model's own corpus (so every symbol is in its vocabulary).

    Args:
        corpus: the training text.
        kind: "char" or "word" (the tokenizer the model was trained with).
        heldout: the held-out end of the corpus (never trained on), when there was one.
        seed: for the shuffled and random examples.
        tokenizer: the model's tokenizer; when given, a piece it does not know (a word-level model's first word of
            a line without its leading space, say) is left out of every text.

    Returns:
        ModelTexts: the prompt is the first line of four words or more without its last word (the model finishes
        it), the examples run from a passage of the training text to random symbols of its vocabulary.
    """
    lines = _corpus_lines(corpus) or [corpus.strip() or "a"]
    long = [line for line in lines if len(line.split()) >= 4] or lines
    prompts = [_without_last_word(line) for line in long[:3]]
    while len(prompts) < 3:
        prompts.append(prompts[-1])
    passage = _passage(corpus)
    examples = {"A passage of its training text": passage}
    if heldout and heldout.strip():
        examples["Its held-out text (never trained on)"] = _passage(heldout)
    examples["Same words, shuffled"] = shuffled_words(passage, seed)
    examples["Random symbols of its vocabulary"] = _random_symbols(corpus, kind, seed)
    texts = ModelTexts(prompts[0], long[0], tuple(prompts), examples, "corpus")  # type: ignore[arg-type]
    if tokenizer is None:
        return texts

    def fit(text: str) -> str:
        return text if not unknown_spans(tokenizer, text) else in_vocabulary(tokenizer, text)

    return ModelTexts(
        fit(texts.prompt),
        fit(texts.line),
        tuple(fit(p) for p in texts.compare),  # type: ignore[arg-type]
        {label: fit(text) for label, text in texts.examples.items()},
        "corpus",
    )


def texts_for_vocabulary(tokenizer: Any) -> ModelTexts:
    """The lessons' texts cut down to what ``tokenizer`` knows (lower-cased when that helps), for a tiny model whose
    corpus is unknown (an uploaded zip). A text with nothing left becomes symbols of the vocabulary."""
    vocab = sorted(
        t.strip() for t in tokenizer.get_vocab() if t.strip() and not (t.startswith("<") and t.endswith(">"))
    )
    filler = in_vocabulary(tokenizer, " ".join(vocab[:60])) or "".join(vocab[:1])

    def fit(text: str) -> str:
        return in_vocabulary(tokenizer, text) or filler

    compare = tuple(fit(p) for p in LESSON_TEXTS.compare)
    return ModelTexts(
        prompt=fit(LESSON_TEXTS.prompt),
        line=fit(LESSON_TEXTS.line),
        compare=compare,  # type: ignore[arg-type]
        examples={label: fit(text) for label, text in LESSON_TEXTS.examples.items()},
        source="vocabulary",
    )


def model_texts(lm: Any) -> ModelTexts:
    """The default prompt and example texts for a ``core.models.LoadedModel``.

    A model trained in this session carries texts from its corpus (``extras[TEXTS_KEY]``); another model whose
    vocabulary is closed gets the lessons' texts cut to its vocabulary; any other model gets the lessons' texts.
    """
    stored = lm.extras.get(TEXTS_KEY)
    if isinstance(stored, ModelTexts):
        return stored
    if isinstance(stored, dict):
        try:
            return ModelTexts.from_dict(stored)
        except (KeyError, TypeError, ValueError):
            pass
    if closed_vocabulary(lm.tokenizer):
        return texts_for_vocabulary(lm.tokenizer)
    return LESSON_TEXTS
