"""Every worked example of the seed documents, as data, so each page can reproduce the seed's numbers.

Seed 000: LLM pretraining (vocabulary sizes). Seed 001: next-token prediction (toy logits, bigram counts,
teacher forcing, perplexity, the KV-cache estimate). Seed 003's toy corpus is in core/data/.
"""

from __future__ import annotations

# Seed 001, "The support bot answered": five tokens and their logits.
SUPPORT_BOT_PROMPT = "The support bot answered"
SUPPORT_BOT_TOKENS = ("correctly", "slowly", "angrily", "the", "</s>")
SUPPORT_BOT_LOGITS = (3.0, 1.5, -1.0, -2.0, -3.0)
SUPPORT_BOT_TEMPERATURES = (0.5, 1.0, 2.0)
# Printed by the seed (3 decimals) for each temperature above.
SUPPORT_BOT_EXPECTED = {
    0.5: (0.952, 0.047, 0.000, 0.000, 0.000),
    1.0: (0.800, 0.178, 0.015, 0.005, 0.002),
    2.0: (0.575, 0.272, 0.078, 0.047, 0.029),
}

# Seed 001, greedy vs sampling with a seeded generator: NumPy default_rng(4), temperature 1.4.
WAREHOUSE_TOKENS = ("warehouse", "hub", "carrier")
WAREHOUSE_LOGITS = (2.4, 1.7, 0.2)
WAREHOUSE_TEMPERATURE = 1.4
WAREHOUSE_SEED = 4
WAREHOUSE_EXPECTED_PROBS = (0.551, 0.334, 0.115)
WAREHOUSE_EXPECTED_SAMPLES = ("carrier", "warehouse", "carrier", "warehouse", "hub", "warehouse", "hub", "warehouse")

# Seed 001, "The package left the": how one extra token changes the distribution.
PACKAGE_PROMPTS = ("The package left the", "The package left the regional", "The package left the checkout")

# Seed 004, "The capital of France is".
CAPITAL_PROMPT = "The capital of France is"

# Seed 001, bigram counts over six tracking messages.
TRACKING_MESSAGES = (
    "package left warehouse",
    "package left warehouse",
    "parcel left hub",
    "parcel left warehouse",
    "order left hub",
    "order left carrier",
)
BIGRAM_EXPECTED = {"warehouse": 3 / 6, "hub": 2 / 6, "carrier": 1 / 6, "depot": 0.0}

# Seed 001, teacher forcing: <bos> package left hub <eos>, four shifted targets and their logits.
TEACHER_FORCING_VOCAB = ("<bos>", "package", "left", "hub", "<eos>")
TEACHER_FORCING_TARGETS = (1, 2, 3, 4)
TEACHER_FORCING_LOGITS = (
    (0.0, 3.0, 0.5, -1.0, -2.0),
    (-1.0, 0.1, 2.5, 0.0, -2.0),
    (-1.0, 0.0, 0.2, 2.0, -1.5),
    (-2.0, 0.0, -1.0, -0.5, 2.4),
)
TEACHER_FORCING_EXPECTED_PROBS = (0.864, 0.824, 0.724, 0.839)
TEACHER_FORCING_EXPECTED_MEAN_LOSS = 0.209

# Seed 001, perplexity by hand.
PERPLEXITY_TRUE_TOKEN_PROBS = (0.5, 0.5, 0.5, 0.125)
PERPLEXITY_EXPECTED_MEAN_LOSS = 1.0397
PERPLEXITY_EXPECTED = 2.8284

# Seed 001, the KV-cache estimate (bf16/fp16, two bytes a value).
KV_ESTIMATE = {"batch_size": 4, "num_layers": 32, "num_kv_heads": 8, "head_dim": 128, "bytes_per_value": 2}
KV_ESTIMATE_EXPECTED_GIB = {2_048: 1.00, 32_768: 16.00}

# Seed 000, vocabulary sizes.
VOCAB_SIZES = {"GPT-2": 50_257, "GPT-3/4 (cl100k_base)": 100_277, "LLaMA 3": 128_256, "BERT": 30_522}

# Seed 003's Mini-GPT toy corpus is data: core/data/mini_gpt_corpus.txt (core.training.MINI_GPT_CORPUS).
