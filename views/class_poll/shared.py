"""What the class poll's teacher and student views both draw: the round's prompt in large type, the model's
answer after the reveal, and why rooms are not shared when several copies of the app run without a room store."""

from __future__ import annotations

import streamlit as st

from components.inert import inert_html, inert_markdown
from core.next_token import NextTokenDistribution
from ui.settings import redis_url, replica_count

PROMPT_CSS = "<style>.nte-poll-prompt{font-size:1.6rem;font-weight:600;line-height:1.3}</style>"


def show_prompt(prompt: str) -> None:
    """The round's prompt in large type, inert, followed by an ellipsis."""
    st.html(PROMPT_CSS + inert_html(prompt + " …", css_class="nte-poll-prompt"))


def show_answer(dist: NextTokenDistribution) -> None:
    """The model's answer after the reveal: its top token and that token's probability."""
    top = dist.top_rows(1)[0]
    st.success(f"The model's answer: **{inert_markdown(top.token)}** ({top.probability:.1%}).")


def store_problem() -> str | None:
    """Why rooms are not shared by the whole class (several copies of the app, no shared store), or None."""
    copies = replica_count()
    if copies < 2 or redis_url():
        return None
    return (
        f"This server runs {copies} copies of the app without a shared room store: students who reach another "
        "copy than the teacher's find no room, and the teacher's count misses them. The operator must set "
        "NTE_REDIS_URL (or the secret redis_url) for every copy: deploy/README.md."
    )
