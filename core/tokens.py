"""Tokenizer views (seed 004): text -> token ids and readable token strings, the chat template as the
exact token sequence, and a byte-level BPE tokenizer trained on a pasted corpus with `tokenizers`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from core.seed_examples import VOCAB_SIZES
from core.text import token_label

MAX_TEXT_CHARS = 20_000
MAX_BPE_CORPUS_CHARS = 200_000
MIN_BPE_VOCAB = 257  # the 256 byte symbols plus one special token: a BPE with zero merges
MAX_BPE_VOCAB = 8_000
BPE_SPECIAL = "<|endoftext|>"

# One sentence in several scripts (seed 001's shipping vocabulary), to show what non-English text costs.
SAME_SENTENCE = {
    "English": "The package left the warehouse this morning.",
    "French": "Le colis a quitté l'entrepôt ce matin.",
    "German": "Das Paket hat das Lager heute Morgen verlassen.",
    "Spanish": "El paquete salió del almacén esta mañana.",
    "Russian": "Посылка покинула склад сегодня утром.",
    "Arabic": "غادر الطرد المستودع هذا الصباح.",
    "Hindi": "पैकेट आज सुबह गोदाम से निकल गया।",
    "Chinese": "包裹今天早上离开了仓库。",
    "Japanese": "荷物は今朝倉庫を出発しました。",
    "Emoji": "📦➡️🏭🌅",
}


# The default training corpus for the BPE: plain English about tokens, in the seeds' shipping vocabulary.
DEFAULT_BPE_CORPUS = """\
A language model does not read letters or words. It reads tokens: pieces of text with an id in a vocabulary.
The tokenizer turns text into token ids, and the model predicts the next token id from the ones before it.
Byte-pair encoding starts from single bytes and merges the most frequent pair of neighbours, again and again.
Each merge adds one token to the vocabulary. Frequent words become single tokens; rare words stay in pieces.
The package left the warehouse this morning. The parcel left the hub. The order left the carrier.
The package arrived at the depot. The parcel arrived at the warehouse. The order arrived late.
Customers ask where their package is. The support bot answers that the parcel left the warehouse.
Tracking messages repeat the same words: package, parcel, order, left, arrived, warehouse, hub, depot.
A bigger vocabulary means fewer tokens per word, so more text fits in the context window.
A smaller vocabulary means a smaller embedding table, but every sentence costs more tokens.
Text in other languages and scripts often costs more tokens, because the merges were learned mostly on English.
Tokens are not characters and not words. One token is about four characters of English text.
The model reads the prompt, predicts a distribution over the next token, picks one, and appends it.
"""


class TokenizerError(ValueError):
    """Text or a corpus the tokenizer views refuse; the message says why."""


@dataclass(frozen=True)
class TokenView:
    """One text through one tokenizer.

    Attributes:
        text: the text as given.
        ids: (T,) token ids.
        labels: (T,) readable token strings, whitespace and control characters made visible.
        pieces: (T,) the tokenizer's own token strings (byte-level BPE shows a space as 'Ġ').
        special: (T,) True where the token is a special token (<|im_start|>, ...).
    """

    text: str
    ids: tuple[int, ...]
    labels: tuple[str, ...]
    pieces: tuple[str, ...]
    special: tuple[bool, ...]

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def tokens(self) -> int:
        return len(self.ids)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0


def check_text(text: str | None, *, max_chars: int = MAX_TEXT_CHARS, what: str = "text") -> str:
    """Return text fit for a tokenizer or raise TokenizerError (empty, too long). Lone surrogates -> U+FFFD."""
    if text is None or text == "":
        raise TokenizerError(f"The {what} is empty: type something to tokenize.")
    if len(text) > max_chars:
        raise TokenizerError(f"The {what} has {len(text):,} characters; the limit here is {max_chars:,}.")
    return text.encode("utf-8", "replace").decode("utf-8")


def _special_ids(tokenizer: Any) -> set[int]:
    ids = getattr(tokenizer, "all_special_ids", None)
    return {int(i) for i in ids} if ids is not None else set()


def view_ids(tokenizer: Any, ids: Sequence[int], text: str | None = None) -> TokenView:
    """Describe a token id sequence (e.g. a rendered chat template) with readable labels."""
    ids = [int(i) for i in ids]
    special = _special_ids(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(ids)
    labels = [token_label(tokenizer, i) if i not in special else str(p) for i, p in zip(ids, pieces)]
    text = tokenizer.decode(ids) if text is None else text
    return TokenView(text, tuple(ids), tuple(labels), tuple(str(p) for p in pieces), tuple(i in special for i in ids))


def token_view(tokenizer: Any, text: str) -> TokenView:
    """Tokenize ``text`` exactly as typed (no special tokens added) and describe every token.

    Args:
        tokenizer: a Hugging Face tokenizer or a ``TrainedBPE`` (anything with encode/decode/convert_ids_to_tokens).
    """
    text = check_text(text)
    return view_ids(tokenizer, tokenizer.encode(text, add_special_tokens=False), text)


def round_trips(tokenizer: Any, text: str) -> bool:
    """True when decode(encode(text)) gives back exactly ``text``."""
    return tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def chat_messages(system: str, user: str) -> list[dict[str, str]]:
    """Chat messages for the template: an optional system message and one user message."""
    messages = [{"role": "system", "content": system}] if system and system.strip() else []
    return messages + [{"role": "user", "content": user}]


def chat_view(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> TokenView:
    """The chat template rendered as the exact token sequence the model sees (``apply_chat_template``).

    Raises:
        TokenizerError: the tokenizer has no chat template (a base model), or a message is too long.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError("This model's tokenizer has no chat template (it is a base model, not an instruct model).")
    for message in messages:
        check_text(message["content"], what=f"{message['role']} message")
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False)
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded  # transformers 5 returns a BatchEncoding
    return view_ids(tokenizer, ids, text)


class TrainedBPE:
    """A byte-level BPE trained with `tokenizers`, with the small tokenizer interface the views use.

    Byte-level: the 256 byte values are the starting alphabet, so any text (emoji, CJK, ...) encodes and
    decodes back exactly; merges then join frequent neighbours into longer tokens.
    """

    def __init__(self, backend: Any, requested_vocab_size: int, corpus_chars: int):
        self.backend = backend
        self.requested_vocab_size = int(requested_vocab_size)
        self.corpus_chars = int(corpus_chars)
        self.all_special_ids = [backend.token_to_id(BPE_SPECIAL)]

    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size())

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def merges(self) -> int:
        """Merges learned: vocabulary size minus the 256 bytes and the special token."""
        return self.vocab_size - MIN_BPE_VOCAB

    @property
    def capped(self) -> bool:
        """True when the corpus ran out of pairs to merge before reaching the requested size."""
        return self.vocab_size < self.requested_vocab_size

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab()

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self.backend.encode(text, add_special_tokens=add_special_tokens).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=False)

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        if isinstance(ids, int):
            return self.backend.id_to_token(ids)
        return [self.backend.id_to_token(int(i)) for i in ids]


def train_bpe(corpus: str, vocab_size: int) -> TrainedBPE:
    """Train a byte-level BPE on ``corpus`` up to ``vocab_size`` tokens (256 bytes + 1 special + merges).

    The trained size can be smaller than asked: merging stops when no pair of neighbours is left to
    merge (a small corpus supports few merges). ``TrainedBPE.capped`` says so.

    Raises:
        TokenizerError: empty or too-large corpus, or a vocabulary size out of range.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if not corpus or not corpus.strip():
        raise TokenizerError("The training corpus is empty: paste some text to learn merges from.")
    if len(corpus) > MAX_BPE_CORPUS_CHARS:
        raise TokenizerError(f"The training corpus has {len(corpus):,} characters; the limit here is {MAX_BPE_CORPUS_CHARS:,}.")
    if not MIN_BPE_VOCAB <= int(vocab_size) <= MAX_BPE_VOCAB:
        raise TokenizerError(f"The vocabulary size must be from {MIN_BPE_VOCAB} to {MAX_BPE_VOCAB:,}, not {vocab_size}.")
    corpus = corpus.encode("utf-8", "replace").decode("utf-8")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), min_frequency=1, special_tokens=[BPE_SPECIAL],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(corpus.splitlines() or [corpus], trainer=trainer)
    return TrainedBPE(backend, int(vocab_size), len(corpus))


def corpus_key(corpus: str) -> str:
    """A short stable key for memoising a trained tokenizer on a corpus."""
    return hashlib.sha1(corpus.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass(frozen=True)
class SweepRow:
    requested: int
    trained: int
    tokens: int
    tokens_per_word: float


def bpe_size_sweep(corpus: str, sizes: Sequence[int], text: str) -> list[SweepRow]:
    """Train one BPE per vocabulary size and count the tokens of ``text``: the vocabulary-size trade-off."""
    text = check_text(text)
    rows = []
    for size in sizes:
        bpe = train_bpe(corpus, size)
        view = token_view(bpe, text)
        rows.append(SweepRow(int(size), bpe.vocab_size, view.tokens, view.tokens_per_word))
    return rows


@dataclass(frozen=True)
class LanguageRow:
    language: str
    text: str
    chars: int
    bytes: int
    tokens: int
    kv_bytes: int


def language_costs(tokenizer: Any, kv_bytes_per_token: int = 0, sentences: dict[str, str] = SAME_SENTENCE) -> list[LanguageRow]:
    """Tokens of the same sentence in several scripts, and the KV-cache bytes those tokens would hold."""
    rows = []
    for language, text in sentences.items():
        view = token_view(tokenizer, text)
        rows.append(LanguageRow(language, text, view.chars, view.bytes, view.tokens, view.tokens * kv_bytes_per_token))
    return rows


def kv_bytes_per_token(facts: Any, bytes_per_value: int = 4) -> int:
    """Bytes of KV cache one token costs: 2 (K and V) x layers x kv_heads x head_dim x bytes per value."""
    return 2 * facts.layers * facts.kv_heads * facts.head_dim * bytes_per_value


def vocab_size_rows(model_name: str | None = None, model_vocab: int | None = None,
                    extra: dict[str, int] | None = None) -> list[tuple[str, int, str]]:
    """(model, vocabulary size, source) rows: seed 000's table, the loaded model's own, any extras."""
    rows = [(name, size, "seed 000") for name, size in VOCAB_SIZES.items()]
    if model_name and model_vocab:
        rows.append((model_name, int(model_vocab), "the loaded model's tokenizer"))
    for name, size in (extra or {}).items():
        rows.append((name, int(size), "trained here"))
    return rows


def load_tokenizer(name: str) -> Any:
    """Load another model's tokenizer from the local Hugging Face cache only (never the network).

    Raises:
        TokenizerError: it is not in the local cache (this server is offline).
    """
    from transformers import AutoTokenizer

    from core.models import DEFAULT_MODEL, converted_model_dir, is_converted

    try:
        if name == DEFAULT_MODEL and is_converted():  # the bundled model's own copy, never the Hub
            return AutoTokenizer.from_pretrained(converted_model_dir())
        return AutoTokenizer.from_pretrained(name, local_files_only=True, trust_remote_code=False)
    except Exception as error:  # transformers raises OSError/ValueError/... for a missing cache entry
        raise TokenizerError(f"The {name} tokenizer is not available offline (it is not in this server's "
                             f"Hugging Face cache): {type(error).__name__}.") from error
