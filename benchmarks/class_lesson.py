"""The scripted lesson one simulated student follows, and how each step's answer is read off the page.

The lesson: open the teacher's shared link to the next-token page and read the bars, move temperature
three times, step generation ten tokens (greedy), switch an attention head, score a paragraph's perplexity. Every
answer is what the page shows, rounded as the page rounds it, so two students (or a student and a real browser)
can be compared with ``==``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from benchmarks.streamlit_client import ClientError, StreamlitClient, plotly_array

PROMPT = "The capital of France is"
LINK_QUERY = urlencode({"prompt": PROMPT, "t": "1.0"})  # the teacher's link: ?prompt=...&t=1.0
TEMPERATURES = (0.5, 1.5, 0.7)
GENERATION_QUERY = urlencode({"prompt": PROMPT, "t": "0"})  # temperature 0 = greedy: every student gets one text
GENERATION_STEPS = 10
HEAD_LABEL = "head 3"  # the attention page's head selectbox shows "head <i>" (or "average over heads")
PARAGRAPH = (  # ~600 characters of plain English, written for this benchmark
    "Every morning the small bakery on the corner opens its doors a little before six. The baker has already "
    "been at work for three hours, shaping loaves and watching the ovens. Regular customers arrive first: a "
    "nurse coming home from the night shift, two builders who want something warm, and an old man who buys "
    "the same rye bread every day and pays with exact change. By eight o'clock the shelves are half empty and "
    "the queue reaches the street. Nobody seems to mind waiting, because the smell of fresh bread makes the "
    "cold air feel kinder, and the baker always has a joke ready for the children on their way to school."
)

# Interaction kinds, as the bench reports them.
OPEN_LINK = "open link"
TEMPERATURE = "temperature step"
OPEN_GENERATION = "open generation"
GENERATION_STEP = "generation step"
OPEN_ATTENTION = "open attention"
HEAD_SWITCH = "head switch"
OPEN_PERPLEXITY = "open perplexity"
PERPLEXITY = "perplexity"
KINDS = (OPEN_LINK, TEMPERATURE, OPEN_GENERATION, GENERATION_STEP, OPEN_ATTENTION, HEAD_SWITCH, OPEN_PERPLEXITY,
         PERPLEXITY)  # fmt: skip


def bars_answer(figure: dict) -> tuple:
    """The next-token bars as (trace name, ((label, probability rounded to 0.1 %), ...)) per trace.

    Args:
        figure: a plotly figure as JSON (``{"data": [{"name", "y": labels, "x": probabilities}, ...]}``), from the
            server's chart spec or from the browser's plotly graph div.
    """
    out = []
    for trace in figure["data"]:
        labels = [str(label) for label in plotly_array(trace.get("y"))]
        probs = [round(float(p), 3) for p in plotly_array(trace.get("x"))]
        out.append((str(trace.get("name", "")), tuple(zip(labels, probs))))
    return tuple(out)


SAMPLER = "next_token.sampler"  # the client-side sampler's key (ui/state.py NT_SAMPLER)
SAMPLER_TRACES = ("model probability", "sampling probability (after filters)")


def sampler_settings(temperature: float) -> dict:
    """The sampler's state as the browser sends it when the user lets go of the temperature slider."""
    return {"settings": {"temperature": temperature, "top_k": 0, "top_p": 1.0}}


def sampler_answer(data: dict) -> tuple:
    """The next-token bars the client-side sampler draws from the data it was sent (ui/client_sampler.py), in
    ``bars_answer``'s form, computed here with core.sampling as the page computes them: the model's and the
    sampler's probability of each listed token and of "all other tokens" (cut tokens at 0)."""
    from components.client_sampler import decode_logits
    from core.sampling import sampling_probs

    settings = data["settings"]
    logits = decode_logits(data)  # (V,) most likely first
    probs = sampling_probs(
        logits, temperature=settings["temperature"], top_k=settings["top_k"], top_p=settings["top_p"]
    )  # (V,)
    positions = [row["position"] for row in data["rows"]]
    labels = [f"{rank}. {row['label']}" for rank, row in enumerate(data["rows"], start=1)]
    model = [row["model"] for row in data["rows"]]
    sampling = probs[positions].tolist()
    if data["model_rest"] is not None:
        labels.append(data["other_label"])
        model.append(data["model_rest"])
        sampling.append(max(0.0, float(probs.double().sum() - probs[positions].double().sum())))
    return tuple(
        (name, tuple(zip(labels, (round(float(p), 3) for p in values))))
        for name, values in zip(SAMPLER_TRACES, (model, sampling))
    )


def generated_answer(client: StreamlitClient) -> str:
    """The generated text the generation page shows: its ``nte-generation`` block without the grey prompt."""
    for block in client.elements("html"):
        if 'class="nte-generation"' in block.body:
            body = re.sub(r'<span title="prompt"[^>]*>.*?</span>', "", block.body, count=1, flags=re.S)
            return html.unescape(re.sub(r"<[^>]+>", "", body))
    raise LookupError("the generation page shows no generated text")


def heatmap_answer(figure: dict) -> tuple:
    """The attention heatmap's title and, for its last query row, the key most attended and its weight (0.001)."""
    title = figure["layout"].get("title", {})
    title = title.get("text", "") if isinstance(title, dict) else str(title)
    trace = next(t for t in figure["data"] if t.get("type") == "heatmap")
    rows = plotly_array(trace.get("z"))
    keys = [str(k) for k in plotly_array(trace.get("x"))]
    last = [(-1.0 if w is None else float(w)) for w in rows[-1]]
    best = max(range(len(last)), key=last.__getitem__)
    return title, keys[best] if best < len(keys) else best, round(last[best], 3)


EXPLORER = "attention.explorer"  # the attention page's in-page head heatmap (ui/state.py ATT_EXPLORER)


def explorer_answer(data: dict) -> tuple:
    """``heatmap_answer`` read from the data the attention explorer was sent (ui/attention_explorer.py), for its
    picked head: the same title, key label (as plotly's escaped axis labels) and weight to the thousandth."""
    from components.attention import position_labels
    from components.attention_explorer import decode_cells

    head = data["selected"]["head"]
    m = data["heads"] if head is None else head
    shown, _ = decode_cells(data)  # (H + 1, T, K) thousandths, NaN where masked
    last = [(-1.0 if w != w else float(w) / 1000) for w in shown[m, -1]]
    best = max(range(len(last)), key=last.__getitem__)
    keys = position_labels(data["tokens"])[data["offset"] :]
    return data["titles"][m], keys[best], round(last[best], 3)


async def run_lesson(client: StreamlitClient, on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Follow the lesson on a connected client; returns each step's answer (step name -> answer).

    Args:
        on_step: called with a step's name once it is done (e.g. to let a browser check start at the right time).
    """
    answers: dict[str, Any] = {}

    def done(step: str, answer: Any) -> None:
        answers[step] = answer
        if on_step is not None:
            on_step(step)

    await client.open("next_token", LINK_QUERY, kind=OPEN_LINK)
    done("bars t=1.0", sampler_answer(client.component_data(SAMPLER)))
    for t in TEMPERATURES:  # a browser redraws each move itself; the server hears the value let go of
        await client.set(SAMPLER, sampler_settings(t), kind=TEMPERATURE)
        done(f"bars t={t}", sampler_answer(client.component_data(SAMPLER)))

    await client.open("generation", GENERATION_QUERY, kind=OPEN_GENERATION)
    for step in range(1, GENERATION_STEPS + 1):
        await client.click("generation.step", kind=GENERATION_STEP)
        done(f"generated after step {step}", generated_answer(client))

    await client.open("attention", kind=OPEN_ATTENTION)
    try:  # the head picked in the page, as the browser tells the server; a tree from before draws it on the server
        query = client.component_data(EXPLORER)["selected"]["query"]
    except ClientError:
        await client.set("attention.head", HEAD_LABEL, kind=HEAD_SWITCH)
        done("attention heatmap", heatmap_answer(client.chart("attention.heatmap")))
    else:
        head = int(HEAD_LABEL.split()[-1])
        await client.set(EXPLORER, {"picked": {"head": head, "query": query}}, kind=HEAD_SWITCH)
        done("attention heatmap", explorer_answer(client.component_data(EXPLORER)))

    await client.open("perplexity", kind=OPEN_PERPLEXITY)
    await client.set("perplexity.text", PARAGRAPH, kind=PERPLEXITY)
    done("perplexity", client.metric("Perplexity"))
    return answers


async def visit_every_page(client: StreamlitClient) -> None:
    """Warm a server: one visit to each page of the lesson, so no student's figures include loading the model."""
    await client.open("next_token", LINK_QUERY)
    await client.open("generation", GENERATION_QUERY)
    await client.click("generation.step")
    await client.open("attention")
    await client.open("perplexity")
