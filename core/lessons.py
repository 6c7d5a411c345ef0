"""The source lessons by name, and one preset per worked example: which page replays it, with which inputs, and the
numbers the lesson prints. Pure data; the numbers themselves live in core.seed_examples (one home per concept).

The lessons are the seed documents 000..004; pages call them by these names, never by file name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from core.kv_cache import KV_DTYPES
from core.seed_examples import (
    BIGRAM_EXPECTED,
    KV_ESTIMATE,
    KV_ESTIMATE_EXPECTED_GIB,
    PERPLEXITY_EXPECTED,
    SUPPORT_BOT_EXPECTED,
    SUPPORT_BOT_LOGITS,
    SUPPORT_BOT_PROMPT,
    SUPPORT_BOT_TOKENS,
    TEACHER_FORCING_EXPECTED_MEAN_LOSS,
    TEACHER_FORCING_VOCAB,
    TRACKING_MESSAGES,
    WAREHOUSE_EXPECTED_PROBS,
    WAREHOUSE_EXPECTED_SAMPLES,
    WAREHOUSE_LOGITS,
    WAREHOUSE_SEED,
    WAREHOUSE_TEMPERATURE,
    WAREHOUSE_TOKENS,
)

# Short names of the five lessons, used in captions ("as in the first lesson").
FIRST_LESSON = "the first lesson"  # seed 000: How LLMs Work — Pretraining & Autoregressive Generation
NEXT_TOKEN_LESSON = "the next-token lesson"  # seed 001: from bigram counts to causal generation and KV-cache serving
LLM_LESSON = "the Large Language Models lesson"  # seed 002: Large Language Models (the temperature slider)
MINI_GPT_LESSON = "the Mini-GPT lesson"  # seed 003: Day 6, pretraining and the Mini-GPT notebook
TOKENS_LESSON = "the tokens-to-tokens lesson"  # seed 004: How LLMs Work: From Tokens to Tokens


@dataclass(frozen=True)
class Lesson:
    """One source lesson: its title as written, and the short name the app calls it by."""

    title: str
    name: str


LESSONS = (
    Lesson("How LLMs Work — Pretraining & Autoregressive Generation", FIRST_LESSON),
    Lesson(
        "Next-token prediction: from bigram counts and neural n-grams to causal Transformer generation and KV-cache "
        "serving",
        NEXT_TOKEN_LESSON,
    ),
    Lesson("Large Language Models", LLM_LESSON),
    Lesson("Day 6 — Pretraining & Next-Token Prediction Objective (Mini-GPT)", MINI_GPT_LESSON),
    Lesson("How LLMs Work: From Tokens to Tokens", TOKENS_LESSON),
)

# The worked examples by name, as the captions say them.
WAREHOUSE_EXAMPLE = "the warehouse example"  # the next-token lesson's six tracking messages, counted as bigrams
FIVE_WORD_VOCABULARY = "the five-word vocabulary"  # the next-token lesson's "The support bot answered" logits
PERPLEXITY_EXAMPLE = "the perplexity example"  # <bos> package left hub <eos>, and 0.5, 0.5, 0.5, 0.125 by hand
KV_ESTIMATE_EXAMPLE = "the KV-cache estimate"  # the next-token lesson's 32-layer, 8-kv-head model at batch 4
GREEDY_LOOP = "the greedy loop"  # the first lesson's 20 greedy steps after "Artificial intelligence is"
MINI_GPT = "the Mini-GPT"

# The first lesson's loop: tokenizer.encode(prompt), then 20 steps of argmax (greedy) appended one at a time.
GREEDY_LOOP_PROMPT = "Artificial intelligence is"
GREEDY_LOOP_STEPS = 20

# The Mini-GPT lesson's notebook: MiniGPT(vocab_size, embed_dim=64, n_layers=2, num_heads=4), seq_len = 32,
# batch_size = 16, AdamW(lr=5e-3), a character-level tokenizer ("char", a core.tiny_tokenizers.KINDS key) over its
# ten-line corpus (core/data/mini_gpt_corpus.txt; the preset names it, the page's corpus picker holds the text).
MINI_GPT_CORPUS_LINES = 10
MINI_GPT_SETTINGS = MappingProxyType(
    {"layers": 2, "heads": 4, "width": 64, "context": 32, "batch_size": 16, "learning_rate": 5e-3, "tokenizer": "char"}
)

# The tokens-to-tokens lesson's tokenizer example: "Hello, world!" (13 characters) is about 4 tokens.
HELLO_WORLD = "Hello, world!"
HELLO_WORLD_EXPECTED = MappingProxyType({"characters": 13, "gpt3_tokens": 4})


def kv_dtype_name(bytes_per_value: int) -> str:
    """The cache dtype (a ``KV_DTYPES`` name) that stores ``bytes_per_value`` bytes per number, without overhead."""
    for name, fmt in KV_DTYPES.items():
        if fmt.bits == 8 * bytes_per_value and fmt.group_size is None:
            return name
    raise ValueError(f"No cache dtype stores {bytes_per_value} bytes per value.")


@dataclass(frozen=True)
class LessonPreset:
    """One worked example of a lesson, replayed on one page.

    Attributes:
        label: the button's label, in the lesson's words.
        page: the page that replays it ("generation", "temperature", "next_token", "ngram", "perplexity",
            "kv_cache", "train", "tokenizer": the page file's stem).
        lesson: the lesson's short name (one of the names above).
        inputs: the page's inputs, by name (the page's own widget vocabulary: "prompt", "temperature", ...).
        expected: the numbers the lesson prints for this example.
        note: one sentence shown after the preset is applied: what to look at.
    """

    label: str
    page: str
    lesson: str
    inputs: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    expected: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    note: str = ""


def _frozen(**values: Any) -> MappingProxyType:
    return MappingProxyType(values)


def _csv(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


PRESETS: tuple[LessonPreset, ...] = (
    LessonPreset(
        f"The first lesson's greedy loop ({GREEDY_LOOP_STEPS} steps)",
        "generation",
        FIRST_LESSON,
        _frozen(
            prompt=GREEDY_LOOP_PROMPT,
            mode="plain",
            temperature=0.0,
            max_new_tokens=GREEDY_LOOP_STEPS,
            run=GREEDY_LOOP_STEPS,
        ),
        _frozen(steps=GREEDY_LOOP_STEPS),
        f"{FIRST_LESSON.capitalize()}'s loop: '{GREEDY_LOOP_PROMPT}', then {GREEDY_LOOP_STEPS} steps, each taking "
        "the most likely token (temperature 0 is greedy). The lesson runs GPT-2; this page runs the model in use.",
    ),
    LessonPreset(
        "The five-word vocabulary at temperature 0.5",
        "temperature",
        NEXT_TOKEN_LESSON,
        _frozen(
            mode="toy",
            example="five_words",
            tokens=_csv(SUPPORT_BOT_TOKENS),
            logits=_csv(SUPPORT_BOT_LOGITS),
            temperature=0.5,
            panels=(0.5, 1.0, 2.0),
        ),
        _frozen(probs=SUPPORT_BOT_EXPECTED),
        f"'{SUPPORT_BOT_PROMPT}': {FIVE_WORD_VOCABULARY} of {NEXT_TOKEN_LESSON}. It prints correctly 0.952 at "
        "T = 0.5, 0.800 at T = 1 and 0.575 at T = 2.",
    ),
    LessonPreset(
        f"The warehouse sampler at temperature {WAREHOUSE_TEMPERATURE:g}",
        "temperature",
        NEXT_TOKEN_LESSON,
        _frozen(
            mode="toy",
            example="warehouse",
            tokens=_csv(WAREHOUSE_TOKENS),
            logits=_csv(WAREHOUSE_LOGITS),
            temperature=WAREHOUSE_TEMPERATURE,
            draw_temperature=WAREHOUSE_TEMPERATURE,
            draw_seed=WAREHOUSE_SEED,
            draw_n=len(WAREHOUSE_EXPECTED_SAMPLES),
        ),
        _frozen(probs=WAREHOUSE_EXPECTED_PROBS, samples=WAREHOUSE_EXPECTED_SAMPLES),
        f"Warehouse, hub, carrier: {NEXT_TOKEN_LESSON} draws eight tokens with default_rng({WAREHOUSE_SEED}) at "
        f"T = {WAREHOUSE_TEMPERATURE:g} (see 'Draw samples' below).",
    ),
    LessonPreset(
        "The five-word vocabulary",
        "next_token",
        NEXT_TOKEN_LESSON,
        _frozen(mode="toy", tokens=_csv(SUPPORT_BOT_TOKENS), logits=_csv(SUPPORT_BOT_LOGITS), temperature=1.0),
        _frozen(probs=SUPPORT_BOT_EXPECTED[1.0]),
        f"'{SUPPORT_BOT_PROMPT}': softmax of five logits. {NEXT_TOKEN_LESSON.capitalize()} prints 0.800, 0.178, "
        "0.015, 0.005, 0.002.",
    ),
    LessonPreset(
        "The warehouse example",
        "ngram",
        NEXT_TOKEN_LESSON,
        _frozen(corpus="\n".join(TRACKING_MESSAGES), n=2, smoothing=False, context="left"),
        _frozen(probs=BIGRAM_EXPECTED),
        f"{WAREHOUSE_EXAMPLE.capitalize()}: six tracking messages counted as bigrams. After 'left', "
        f"{NEXT_TOKEN_LESSON} prints 3/6 = 0.500, 2/6 = 0.333, 1/6 = 0.167, and 0 for an unseen destination.",
    ),
    LessonPreset(
        "The perplexity example",
        "perplexity",
        NEXT_TOKEN_LESSON,
        _frozen(text=" ".join(TEACHER_FORCING_VOCAB[1:-1]), tab="Teacher forcing"),
        _frozen(mean_loss=TEACHER_FORCING_EXPECTED_MEAN_LOSS, perplexity=PERPLEXITY_EXPECTED),
        f"{PERPLEXITY_EXAMPLE.capitalize()}: '<bos> package left hub <eos>' gives four shifted targets (mean "
        f"cross-entropy {TEACHER_FORCING_EXPECTED_MEAN_LOSS:.3f}); probabilities 0.5, 0.5, 0.5 and 0.125 give "
        f"perplexity {PERPLEXITY_EXPECTED:.4f}. The text box holds the same sentence, scored by the model in use.",
    ),
    LessonPreset(
        f"The KV-cache estimate for {KV_ESTIMATE['batch_size']} requests",
        "kv_cache",
        NEXT_TOKEN_LESSON,
        _frozen(
            source="manual",
            layers=KV_ESTIMATE["num_layers"],
            heads=32,  # the lesson does not say; query heads do not change the cache (the page's default)
            kv_heads=KV_ESTIMATE["num_kv_heads"],
            head_dim=KV_ESTIMATE["head_dim"],
            batch=KV_ESTIMATE["batch_size"],
            seq_len=min(KV_ESTIMATE_EXPECTED_GIB),
            dtype=kv_dtype_name(KV_ESTIMATE["bytes_per_value"]),
            window=0,
        ),
        _frozen(gib=KV_ESTIMATE_EXPECTED_GIB),
        f"{KV_ESTIMATE_EXAMPLE.capitalize()} of {NEXT_TOKEN_LESSON}: {KV_ESTIMATE['num_layers']} layers, "
        f"{KV_ESTIMATE['num_kv_heads']} key/value heads of dimension {KV_ESTIMATE['head_dim']}, batch "
        f"{KV_ESTIMATE['batch_size']}, two bytes a value. It prints 1.00 GiB at 2,048 tokens and 16.00 GiB at 32,768.",
    ),
    LessonPreset(
        "The Mini-GPT lesson's notebook",
        "train",
        MINI_GPT_LESSON,
        _frozen(corpus="mini_gpt", **MINI_GPT_SETTINGS),
        _frozen(lines=MINI_GPT_CORPUS_LINES),
        f"{MINI_GPT_LESSON.capitalize()}'s settings: its ten-line corpus, characters as tokens, 2 layers, 4 heads, "
        "width 64, 32 characters of context, batch 16, learning rate 0.005. Press Train to watch the loss fall.",
    ),
    LessonPreset(
        "The 'Hello, world!' example",
        "tokenizer",
        TOKENS_LESSON,
        _frozen(prompt=HELLO_WORLD),
        HELLO_WORLD_EXPECTED,
        f"{TOKENS_LESSON.capitalize()}: '{HELLO_WORLD}' is {HELLO_WORLD_EXPECTED['characters']} characters and "
        f"{HELLO_WORLD_EXPECTED['gpt3_tokens']} GPT-3 tokens (Hello , world !). Compare with the model in use.",
    ),
)


def presets_for(page: str) -> tuple[LessonPreset, ...]:
    """The presets a page replays, in lesson order (empty for a page without a worked example)."""
    return tuple(p for p in PRESETS if p.page == page)
