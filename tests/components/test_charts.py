"""Figure builders and token renderers, tested on the objects they return (no Streamlit)."""

import numpy as np
import torch

from components.explain import sampling_notes
from components.inert import inert_markdown
from components.next_token import probability_bars
from components.tables import candidate_table
from components.temperature import temperature_panels
from components.token_chips import token_chips
from core.sampling import sampling_probs
from core.toy import toy_distribution


def toy():
    return toy_distribution(["correctly", "slowly", "angrily", "the", "</s>"], [3.0, 1.5, -1.0, -2.0, -3.0])


def test_candidate_table_adds_an_other_row_with_the_rest_of_the_full_softmax():
    dist = toy()
    table = candidate_table(dist, 2, sampling_probs(dist.logits, top_k=2))
    assert list(table["token"][:2]) == ["correctly", "slowly"]
    assert table["token"].iloc[-1].startswith("all other tokens (3)")
    assert abs(table["model_probability"].sum() - 1) < 1e-6
    assert abs(table["sampling_probability"].sum() - 1) < 1e-6
    assert table["sampling_probability"].iloc[-1] == 0 and not table["kept"].iloc[-1]
    # never renormalised over what is displayed: the model bars keep their full-vocabulary values
    assert abs(table["model_probability"].iloc[0] - float(torch.softmax(dist.logits, -1)[0])) < 1e-7


def test_probability_bars_mark_cut_tokens():
    dist = toy()
    fig = probability_bars(candidate_table(dist, 4, sampling_probs(dist.logits, top_k=1)))
    model, sampling = fig.data
    assert list(model.y)[0] == "1. correctly" and list(model.y)[-1].startswith("all other tokens")
    assert sampling.text[0] == "100.0%" and set(sampling.text[1:]) == {"cut"}
    assert fig.layout.yaxis.autorange == "reversed"
    # a 100 % bar ends at the axis end: its label is drawn past the plot area, not clipped away
    assert model.cliponaxis is False and sampling.cliponaxis is False and fig.layout.margin.r >= 60


def test_temperature_panels_one_per_temperature():
    fig = temperature_panels(["a", "b"], np.array([[0.9, 0.1], [0.6, 0.4]]), [0.5, 2.0], other=np.array([0.0, 0.0]))
    assert len(fig.data) == 2
    assert [a.text for a in fig.layout.annotations] == ["T = 0.5", "T = 2"]
    assert list(fig.data[0].text) == ["0.900", "0.100", "0.000"]


def test_token_chips_escape_html():
    html = token_chips(["<script>alert(1)</script>", '" onmouseover="x'], [0.1, 0.9], ["<b>t</b>", "ok"])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '" onmouseover' not in html and "&quot; onmouseover" in html
    assert "<b>t</b>" not in html


def test_inert_markdown_neutralises_markdown():
    assert inert_markdown("**bold** [x](javascript:alert(1)) :red[hi]") == (
        "\\*\\*bold\\*\\* \\[x\\](javascript\\:alert(1)) \\:red\\[hi\\]"
    )


def test_sampling_notes():
    assert any("greedy" in n for n in sampling_notes(10, 0.0, 0, 1.0))
    assert any("every token" in n for n in sampling_notes(10, 1.0, 10, 1.0))
    assert any("at least one" in n for n in sampling_notes(10, 1.0, 0, 0.0))
    assert sampling_notes(10, 1.0, 5, 0.9) == []


def test_plotly_labels_and_titles_escape_html():
    dist = toy_distribution(["<a href='https://x'>x</a>", "<b>b</b>"], [1.0, 0.0])
    fig = probability_bars(candidate_table(dist, 2), title="<i>t</i>")
    assert "<a href" not in "".join(fig.data[0].y) and "&lt;a␣href" in fig.data[0].y[0]
    assert "<i>" not in fig.layout.title.text
    panels = temperature_panels(["<b>b</b>"], np.array([[1.0]]), [1.0])
    assert panels.data[0].y[0] == "&lt;b&gt;b&lt;/b&gt;"
