"""The client-side sampler's data and arithmetic: what the server sends once per prompt, and the page's own
temperature -> top-k -> top-p (components/client_sampler.js, run here under Node) against core.sampling."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from components.client_sampler import NEXT_TOKEN, SAMPLER_JS, decode_logits, sampler_data
from core.entropy import entropy_bits
from core.next_token import distribution_from_logits
from core.sampling import sampling_probs
from tests.needs import missing

JS = Path(__file__).resolve().parents[2] / "components" / "client_sampler.js"


class Tokens:
    """A tokenizer stand-in: token i reads "t<i>"."""

    def decode(self, ids):
        return "".join(f"t{i}" for i in ids)

    def convert_ids_to_tokens(self, ids):
        return [f"t{i}" for i in ids] if isinstance(ids, list) else f"t{ids}"


def tiny_logits(vocab: int = 3000, seed: int = 0) -> torch.Tensor:
    """(V,) next-token logits of a small randomly initialised GPT-2: real model arithmetic, no download."""
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(
        GPT2Config(n_layer=2, n_head=4, n_embd=32, vocab_size=vocab, bos_token_id=0, eos_token_id=0)
    ).eval()
    with torch.inference_mode():
        return model(torch.tensor([[1, 2, 3, 4]])).logits[0, -1].float() * 12  # spread like a trained model's


@pytest.fixture(scope="module")
def dist():
    return distribution_from_logits(tiny_logits(), Tokens())


def test_the_data_holds_the_whole_vocabulary_most_likely_first_and_the_rows(dist):
    data = sampler_data(dist, page=NEXT_TOKEN, top_n=10, temperature=0.7, top_k=5, top_p=0.9)
    laid_out = decode_logits(data)  # (V,)
    assert laid_out.shape == (3000,) and torch.equal(laid_out, dist.logits[dist.order])
    assert len(data["logits"]) == 4 * math.ceil(3000 * 4 / 3)  # base64 of 4 bytes a token
    top = dist.candidates(10)
    assert [r["token_id"] for r in data["rows"]] == top.ids
    assert [laid_out[r["position"]].item() for r in data["rows"]] == top.logits
    assert [r["model"] for r in data["rows"]] == top.probs and data["model_rest"] == top.other_mass
    assert data["other_label"] == "all other tokens (2,990)"
    assert data["settings"] == {"temperature": 0.7, "top_k": 5, "top_p": 0.9}
    json.dumps(data)  # JSON-ready


def test_a_whole_vocabulary_on_screen_has_no_rest_bar():
    small = distribution_from_logits(torch.tensor([2.0, 1.0, 0.5]), Tokens())
    data = sampler_data(small, page=NEXT_TOKEN, top_n=10, temperature=1.0)
    assert len(data["rows"]) == 3 and data["model_rest"] is None


SETTINGS = [
    (1.0, 0, 1.0),
    (0.0, 0, 1.0),
    (0.05, 0, 1.0),  # most tokens underflow to 0 in float32: not pickable
    (0.5, 0, 0.9),
    (1.5, 0, 0.95),
    (2.95, 0, 0.92),
    (3.0, 0, 0.99),
    (1.0, 5, 1.0),
    (1.0, 3000, 1.0),
    (1.0, 1_000_000, 1.0),
    (0.7, 40, 0.8),
    (1.0, 0, 0.0),
    (2.0, 10, 0.0),
] + [(t, 0, p) for t in (0.3, 1.0, 2.2) for p in (0.1, 0.5, 0.75, 0.97)]


def test_the_pages_arithmetic_equals_core_sampling(dist, tmp_path):
    """Every setting: the count of tokens the sampler can pick exactly, each probability and the entropy to far
    below the shown precision (float32 sums differ only in their last bits)."""
    node = shutil.which("node")
    if node is None:
        missing("the sampler's JavaScript arithmetic", "node is not installed (apt-get install nodejs)")
    laid_out = dist.logits[dist.order]  # (V,) as the page holds them
    (tmp_path / "logits.bin").write_bytes(laid_out.numpy().astype("<f4").tobytes())
    script = tmp_path / "run.mjs"
    body = SAMPLER_JS.split("// ---- text")[0]  # the numbers part: no DOM
    script.write_text(
        "import fs from 'fs';\n"
        f"const body = {json.dumps(body)};\n"
        "const {samplingProbs} = new Function(body + '; return {samplingProbs};')();\n"
        f"const buf = fs.readFileSync({json.dumps(str(tmp_path / 'logits.bin'))});\n"
        "const L = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);\n"
        "const out = [];\n"
        f"for (const [t, k, p] of {json.dumps(SETTINGS)}) {{\n"
        "  const scores = new Float32Array(L.length), probs = new Float64Array(L.length);\n"
        "  const r = samplingProbs(L, t, k, p, scores, probs);\n"
        "  out.push({kept: r.kept, bits: r.entropyBits, top: Array.from(probs.slice(0, 50))});\n"
        "}\n"
        "console.log(JSON.stringify(out));\n"
    )
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120, check=True)
    for (t, k, p), page in zip(SETTINGS, json.loads(result.stdout)):
        probs = sampling_probs(laid_out, temperature=t, top_k=k, top_p=p)  # (V,)
        assert page["kept"] == int((probs > 0).sum()), (t, k, p)
        assert page["bits"] == pytest.approx(entropy_bits(probs), abs=1e-5), (t, k, p)
        assert page["top"] == pytest.approx(probs[:50].tolist(), abs=1e-6), (t, k, p)
    assert SAMPLER_JS.endswith(JS.read_text(encoding="utf-8"))  # the file the page ships, after the DOM helpers
