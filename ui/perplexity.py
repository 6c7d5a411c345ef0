"""The perplexity page's first two tabs, drawn with Streamlit: the text token by token, and teacher forcing."""

from __future__ import annotations

import streamlit as st

from components.perplexity import (
    DISPLAY_LIMIT,
    TEACHER_FORCING_NOTE,
    csv_bytes,
    loss_bars,
    most_surprising,
    seed_perplexity_table,
    seed_teacher_forcing_table,
    surprisal_chips,
    surprisal_legend,
    teacher_forcing_table,
    token_table,
)
from core.lessons import NEXT_TOKEN_LESSON, PERPLEXITY_EXAMPLE
from core.perplexity import PerplexityResult, teacher_forcing_rows
from ui import state
from ui.charts import show_chart


def token_by_token_tab(result: PerplexityResult) -> None:
    """Surprisal-coloured tokens, the per-token loss bars, the most surprising tokens and the CSV download."""
    st.markdown(
        "Each token is coloured by its surprisal -log2 p: the darker, the more the model was surprised. "
        "Hover a token for its probability, its rank and the model's top predictions."
    )
    st.html(surprisal_legend())
    st.html(surprisal_chips(result))
    if result.scored_tokens > DISPLAY_LIMIT:
        st.caption(f"Showing the first {DISPLAY_LIMIT:,} tokens; the CSV below has all {result.scored_tokens:,}.")
    show_chart(loss_bars(result), "perplexity.loss_bars")
    n = st.slider("Most surprising tokens to list", 3, 30, 10, key=state.PPL_SURPRISING_N)
    st.dataframe(most_surprising(result, n), hide_index=True)
    st.download_button(
        "Download the per-token table (CSV)",
        csv_bytes(token_table(result)),
        file_name="perplexity_tokens.csv",
        mime="text/csv",
        key=state.PPL_CSV_DOWNLOAD,
        on_click="ignore",
    )


def teacher_forcing_tab(result: PerplexityResult) -> None:
    """Teacher forcing on the user's text, then seed 001's worked example and its perplexity by hand."""
    st.markdown(TEACHER_FORCING_NOTE)
    st.dataframe(teacher_forcing_table(teacher_forcing_rows(result, 12)), hide_index=True)
    st.markdown(
        f"**{PERPLEXITY_EXAMPLE.capitalize()} of {NEXT_TOKEN_LESSON}**: *\\<bos\\> package left hub \\<eos\\>* "
        "gives four shifted targets."
    )
    seed_table, seed_loss = seed_teacher_forcing_table()
    st.dataframe(seed_table, hide_index=True)
    st.markdown(f"Mean cross-entropy: **{seed_loss:.3f}** nats.")
    st.markdown("**Perplexity by hand**: the true tokens got probabilities 0.5, 0.5, 0.5 and 0.125.")
    hand, loss, ppl, inverse_geo = seed_perplexity_table()
    st.dataframe(hand, hide_index=True)
    x, y, z = st.columns(3)
    x.metric("Average loss", f"{loss:.4f}")
    y.metric("Perplexity exp(loss)", f"{ppl:.4f}")
    z.metric("1 / geometric mean of p", f"{inverse_geo:.4f}")
    st.caption("About 2.83 equally likely options per step: the one bad prediction (0.125) drags the average up.")
