"""Builders for the perplexity page: surprisal-coloured tokens, per-token loss bars, tables and the comparison chart."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.palettes import GRID, GUIDE, SURPRISAL, SURPRISAL_HIGH
from components.style import figure, layout, plotly_text, styled
from components.token_chips import token_chips
from core.perplexity import PerplexityResult, cross_entropy_from_logits, perplexity_from_probs, teacher_forcing_shift
from core.seed_examples import PERPLEXITY_TRUE_TOKEN_PROBS, TEACHER_FORCING_LOGITS, TEACHER_FORCING_VOCAB

SURPRISAL_COLOUR = SURPRISAL_HIGH  # white to dark red: the more surprised the model, the darker the token
FULL_SHADE_BITS = 16.0  # surprisal at which a token is fully coloured (p = 1 / 65,536)
DISPLAY_LIMIT = 1500  # tokens drawn as chips and bars; the CSV has every token
BAR_COLOUR = SURPRISAL

# Explanations shown on the page (static text, in seed 001's words).
INTRO = (
    "Teacher forcing: the model reads your text and, at every position, gives a probability to the token that "
    "really comes next. The loss is -ln p; perplexity is exp(mean loss), the number of equally likely tokens the "
    "model behaves as if it were choosing between. Lower is better."
)
STRIDE_NOTE = (
    "Texts longer than the window are scored in overlapping windows (the Hugging Face sliding-window method): "
    "each window scores only its last *stride* tokens and re-reads the rest as context. A smaller stride (more "
    "overlap) gives each token more context, so perplexity goes down, at the cost of more forward passes."
)
TEACHER_FORCING_NOTE = (
    "**Teacher forcing on your text.** The input is the text shifted right (the start token first), the target "
    "is the text shifted left: at each position the model reads the *true* tokens so far and is scored on the "
    "next one. All positions are scored in one forward pass; the causal mask keeps each prediction from seeing "
    "its own target."
)


def _fmt_p(p: float) -> str:
    return f"{p:.1%}" if p >= 0.001 else f"{p:.1e}"


def surprisal_chips(result: PerplexityResult, limit: int = DISPLAY_LIMIT) -> str:
    """The text's tokens as chips shaded by surprisal -log2 p; hover shows probability, rank and top predictions.

    Returns escaped HTML (token_chips escapes every token and title).
    """
    tokens, shades, titles = [], [], []
    if result.first_scored:
        tokens.append(result.tokens[0])
        shades.append(0.0)
        titles.append("not scored: nothing comes before the first token (switch the start token on)")
    for j in range(min(result.scored_tokens, limit - len(tokens))):
        bits = float(result.nll[j]) / math.log(2)
        title = (
            f"p = {_fmt_p(math.exp(-float(result.nll[j])))} · rank {int(result.ranks[j]):,} · surprisal {bits:.2f} bits"
        )
        if result.top_labels is not None and result.top_probs is not None:
            top = ", ".join(
                f"{label} {_fmt_p(float(p))}" for label, p in zip(result.top_labels[j], result.top_probs[j])
            )
            title += f"\nmodel's top predictions: {top}"
        tokens.append(result.tokens[result.first_scored + j])
        shades.append(min(1.0, bits / FULL_SHADE_BITS))
        titles.append(title)
    return token_chips(tokens, shades, titles, high=SURPRISAL_COLOUR)


def surprisal_legend() -> str:
    """A small HTML colour key for the chips (static text, nothing from the user)."""
    stops = [(0, "0 bits (certain)"), (4, "4 bits (p = 1/16)"), (8, "8 bits (p = 1/256)"), (16, "16+ bits")]
    chips = token_chips(
        [label for _, label in stops],
        [b / FULL_SHADE_BITS for b, _ in stops],
        ["" for _ in stops],
        high=SURPRISAL_COLOUR,
    )
    return chips.replace('<div class="nte-tokens"', '<div class="nte-tokens nte-legend"', 1)


def loss_bars(result: PerplexityResult, limit: int = DISPLAY_LIMIT) -> go.Figure:
    """Per-token surprisal in bits as bars over the scored tokens, with the mean as a dashed line.

    Built from plain dicts (``components.style.figure``): the figure plotly's ``add_bar``/``add_hline`` made,
    without their per-property validation, which cost more than the rest of the page's redraw.
    """
    n = min(result.scored_tokens, limit)
    bits = [float(v) / math.log(2) for v in result.nll[:n]]
    labels = [plotly_text(t) for t in result.scored_labels[:n]]  # plotly hover text understands some HTML
    positions = list(range(result.first_scored, result.first_scored + n))
    bars = dict(
        type="bar",
        x=positions,
        y=bits,
        marker=dict(color=BAR_COLOUR),
        customdata=labels,
        name="surprisal",
        hovertemplate="token %{x}: %{customdata}<br>%{y:.2f} bits<extra></extra>",
    )
    mean = dict(  # the dashed line across the plot at the mean: what add_hline draws
        type="line",
        x0=0,
        x1=1,
        xref="x domain",
        y0=result.bits_per_token,
        y1=result.bits_per_token,
        yref="y",
        line=dict(dash="dash", color=GUIDE),
    )
    # The line's label sits above the plot area, at the right: on the line it covered the first bars.
    note = dict(
        text=f"dashed line: mean {result.bits_per_token:.2f} bits/token",
        x=1,
        xref="paper",
        xanchor="right",
        y=1,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
    )
    title = "Per-token loss" + (
        f" (first {n:,} of {result.scored_tokens:,} tokens)" if n < result.scored_tokens else ""
    )
    spec = layout(
        title,
        320,
        margin=(10, 20, 50, 40),
        legend=False,
        bargap=0.1,
        showlegend=False,
        shapes=[mean],
        annotations=[note],
        xaxis=dict(title=dict(text="token position"), gridcolor=GRID),
        yaxis=dict(title=dict(text="surprisal -log2 p (bits)"), gridcolor=GRID, rangemode="tozero"),
    )
    return figure([bars], spec)


def token_table(result: PerplexityResult) -> pd.DataFrame:
    """Every scored token: position, token, id, probability, surprisal (nats and bits), rank, top predictions."""
    return pd.DataFrame(result.rows())


def most_surprising(result: PerplexityResult, n: int = 10) -> pd.DataFrame:
    """The n tokens the model found most surprising, most surprising first (ties: the earlier token first).

    The table's rows are built for those n only, not for every scored token."""
    order = np.argsort(-np.asarray(result.nll, dtype=float), kind="stable")[: max(0, n)]  # (n,) scored indices
    rows = result.rows([int(j) for j in order])
    return pd.DataFrame(rows) if rows else token_table(result).iloc[:0]


def csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV of a table, for st.download_button."""
    return table.to_csv(index=False).encode("utf-8")


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_of_ten(log10: float) -> str:
    """A positive number given by its log10, readable at any size: 12,345.6 or 1.3 × 10¹⁵ (never 1.26e15 or inf)."""
    if log10 < 5:
        return f"{10**log10:,.1f}"
    exponent = math.floor(log10)
    mantissa = round(10 ** (log10 - exponent), 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f} × 10{str(exponent).translate(SUPERSCRIPT)}"


def word_perplexity_text(result: PerplexityResult) -> str:
    """Word perplexity exp(total NLL / words), readable however large (a character model's is astronomical)."""
    if not result.n_words:
        return "–"
    return power_of_ten(result.total_nll / result.n_words / math.log(10))


def word_perplexity_note(result: PerplexityResult) -> str:
    """Why a character model's word perplexity is so large: the per-character loss is paid once per character."""
    if not result.n_words:
        return ""
    per_word = result.scored_tokens / result.n_words
    bits_char, bits_word = result.bits_per_token, result.total_nll / math.log(2) / result.n_words
    return (
        f"Word perplexity = exp(total loss / words). Each word here costs about {per_word:.1f} tokens, so its loss "
        f"is {per_word:.1f} × the mean loss per token: {bits_char:.2f} bits per token make {bits_word:.1f} bits per "
        f"word, and 2^{bits_word:.1f} = {word_perplexity_text(result)}. Exponents grow fast: a character model's word "
        "perplexity is huge even when it predicts each character well, so read its perplexity per character."
    )


def metric_rows(result: PerplexityResult, per_character: bool = False) -> list[tuple[str, str, str]]:
    """(label, value, help) for the page's metrics; ``per_character`` for a character-level model (its tokens are
    characters: perplexity per character is the headline, bits per word replaces bits per byte)."""
    bpb = result.bits_per_byte
    wpp = word_perplexity_text(result)
    if per_character:
        bits_word = result.total_nll / math.log(2) / result.n_words if result.n_words else None
        return [
            (
                "Perplexity per character",
                f"{result.perplexity:,.2f}",
                "exp(mean loss per character): as surprised as a fair choice among this many characters.",
            ),
            ("Mean loss (NLL)", f"{result.mean_nll:.3f} nats", "Average -ln p of the true characters."),
            ("Bits per character", f"{result.bits_per_token:.2f}", "Mean loss in bits (-log2 p) per character."),
            ("Bits per word", "–" if bits_word is None else f"{bits_word:.1f}", "Total loss in bits over words."),
            ("Word perplexity", wpp, "exp(total loss / words) = 2^(bits per word): see the note below."),
            ("Scored characters", f"{result.scored_tokens:,}", "Characters that got a prediction."),
        ]
    return [
        (
            "Perplexity",
            f"{result.perplexity:,.2f}",
            "exp(mean loss): as surprised as a fair choice among this many tokens.",
        ),
        ("Mean loss (NLL)", f"{result.mean_nll:.3f} nats", "Average -ln p of the true tokens: the cross-entropy loss."),
        ("Bits per token", f"{result.bits_per_token:.2f}", "Mean loss in bits (-log2 p)."),
        (
            "Bits per byte",
            "–" if bpb is None else f"{bpb:.3f}",
            "Total loss in bits over the UTF-8 bytes of the text: comparable across tokenizers.",
        ),
        (
            "Word perplexity",
            wpp,
            "exp(total loss / words): comparable across tokenizers (for languages that put spaces between words).",
        ),
        (
            "Scored tokens",
            f"{result.scored_tokens:,}",
            "Tokens that got a prediction (the first one needs the start token).",
        ),
    ]


def comparison_figure(labels: Sequence[str], results: Sequence[PerplexityResult]) -> go.Figure:
    """Perplexity per token (log scale) and bits per byte of several scored texts, side by side."""
    names = [plotly_text(label) for label in labels]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Perplexity per token (log scale)", "Bits per byte"))
    ppl = [r.perplexity for r in results]
    bpb = [r.bits_per_byte or 0.0 for r in results]
    fig.add_bar(
        x=names,
        y=ppl,
        text=[f"{v:,.1f}" for v in ppl],
        textposition="outside",
        marker_color=BAR_COLOUR,
        row=1,
        col=1,
        hovertemplate="%{x}<br>perplexity %{y:,.2f}<extra></extra>",
    )
    fig.add_bar(
        x=names,
        y=bpb,
        text=[f"{v:.2f}" for v in bpb],
        textposition="outside",
        marker_color=GUIDE,
        row=1,
        col=2,
        hovertemplate="%{x}<br>%{y:.3f} bits per byte<extra></extra>",
    )
    fig.update_yaxes(type="log", row=1, col=1, gridcolor=GRID)
    fig.update_yaxes(row=1, col=2, gridcolor=GRID, rangemode="tozero")
    return styled(fig, "Comparison", 380, margin=(10, 20, 60, 40), legend=False, showlegend=False)


def comparison_table(results: Sequence[PerplexityResult]) -> pd.DataFrame:
    """One row per scored result: model, tokens scored, perplexity, bits per byte, word perplexity."""
    return pd.DataFrame(
        {
            "model": [r.model_name for r in results],
            "tokens scored": [r.scored_tokens for r in results],
            "perplexity": [r.perplexity for r in results],
            "bits per byte": [r.bits_per_byte for r in results],
            "word perplexity": [r.word_perplexity for r in results],
        }
    )


def teacher_forcing_table(rows: list[dict]) -> pd.DataFrame:
    """core.perplexity.teacher_forcing_rows as a DataFrame."""
    return pd.DataFrame(rows)


def seed_teacher_forcing_table() -> tuple[pd.DataFrame, float]:
    """Seed 001's four shifted targets of "<bos> package left hub <eos>": context -> target, p(target), loss."""
    ids = list(range(len(TEACHER_FORCING_VOCAB)))
    inputs, targets = teacher_forcing_shift(ids)
    ce = cross_entropy_from_logits(TEACHER_FORCING_LOGITS, targets)
    table = pd.DataFrame(
        {
            "context (input, shifted right)": [" ".join(TEACHER_FORCING_VOCAB[: i + 1]) for i in inputs],
            "target (shifted left)": [TEACHER_FORCING_VOCAB[t] for t in targets],
            "p(target)": [round(float(p), 3) for p in ce.true_token_probs],
            "loss -ln p": [round(float(v), 3) for v in ce.losses],
        }
    )
    return table, ce.mean_loss


def seed_perplexity_table() -> tuple[pd.DataFrame, float, float, float]:
    """Seed 001's perplexity by hand: (table, mean loss, perplexity, 1 / geometric mean)."""
    worked = perplexity_from_probs(PERPLEXITY_TRUE_TOKEN_PROBS)
    table = pd.DataFrame(
        {
            "position": [1, 2, 3, 4],
            "p(true token)": list(PERPLEXITY_TRUE_TOKEN_PROBS),
            "loss -ln p": [round(float(v), 4) for v in worked.per_position_loss],
        }
    )
    return table, worked.mean_loss, worked.perplexity, 1 / worked.geometric_mean
