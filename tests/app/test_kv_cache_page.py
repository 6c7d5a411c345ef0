"""AppTest: the KV-cache page through app.py: seed default, presets, sources, bad input, measured == estimated."""

from streamlit.testing.v1 import AppTest

from tests.app.helpers import ROOT, all_text, assert_clean, open_page, plotly_specs, values

PAGE = "app_pages/kv_cache.py"


def _curve_max(at) -> float:
    spec = next(s for s in plotly_specs(at) if "sequence length" in s["layout"]["title"]["text"])
    return max(max(values(trace["y"])) for trace in spec["data"])


def test_default_is_the_seed_example_and_measurement_matches():
    at = open_page(PAGE)
    text = all_text(at)
    assert "1.00 GiB at 2,048 tokens" in text and "16.00 GiB at 32,768 tokens" in text
    assert "= 2 × 32 × 8 × 128 × 2,048 × 4 × 2" in text
    assert "1,073,741,824 bytes" in text
    assert at.metric[0].value == "128.00 KiB" and "131,072 bytes = 128.00 KiB" in text
    assert len(plotly_specs(at)) == 3  # curve, head comparison, GPU stack
    assert any(s.value.startswith("Equal:") for s in at.success), all_text(at)
    table = at.dataframe[-1].value
    assert table["bytes"].iloc[0] == table["bytes"].iloc[1]


def test_preset_changes_the_chart_and_caption():
    at = open_page(PAGE)
    at.radio(key="kv.source").set_value("Published model").run()
    assert_clean(at)
    llama = _curve_max(at)
    assert "131,072 bytes = 128.00 KiB" in all_text(at)
    at.selectbox(key="kv.preset").set_value("Llama-3.1-70B").run()
    assert_clean(at)
    assert _curve_max(at) == llama * 80 / 32  # 80 layers instead of 32, same kv heads and head dim
    assert "meta-llama/Llama-3.1-70B" in all_text(at)
    at.selectbox(key="kv.preset").set_value("DeepSeek-V3").run()
    assert_clean(at)
    assert "kv_lora_rank" in all_text(at) and "70,272 bytes =" in all_text(at)
    at.selectbox(key="kv.preset").set_value("Mistral-7B-v0.1").run()
    at.number_input(key="kv.seq_len").set_value(100_000).run()
    assert_clean(at)
    assert "no limit" in all_text(at)  # every layer slides


def test_loaded_model_source_uses_its_config():
    at = open_page(PAGE)
    at.radio(key="kv.source").set_value("The loaded model").run()
    assert_clean(at)
    text = all_text(at)
    assert "30 layers" in text and "grouped-query" in text


def test_hub_id_offline_gives_a_message():
    at = open_page(PAGE)
    at.radio(key="kv.source").set_value("Hugging Face config id").run()
    assert_clean(at)
    at.text_input(key="kv.hub_id").input("no-such-owner-xyz/no-such-model").run()
    assert_clean(at)
    assert any("offline" in w.value or "No model" in w.value for w in at.warning)


def test_bad_and_absurd_input_gives_messages_not_tracebacks():
    at = open_page(PAGE)
    at.number_input(key="kv.heads").set_value(30).run()  # 30 query heads cannot share 8 kv heads
    assert_clean(at)
    assert any("evenly" in w.value for w in at.warning)
    at.number_input(key="kv.heads").set_value(32).run()
    at.number_input(key="kv.seq_len").set_value(10**12).run()
    assert_clean(at)
    assert "524,288,000,000,000,000 bytes" in all_text(at)  # a trillion tokens, exact
    at.number_input(key="kv.gpu_gib").set_value(8).run()
    assert_clean(at)
    assert any("do not fit" in e.value for e in at.error)


def test_dtype_and_paging_change_the_total():
    at = open_page(PAGE)
    at.selectbox(key="kv.dtype").set_value("int4").run()
    assert_clean(at)
    text = all_text(at)
    assert "scale and zero point" in text and "0.5625" in text
    at.selectbox(key="kv.dtype").set_value("bf16 / fp16").run()
    at.number_input(key="kv.seq_len").set_value(2049).run()
    at.checkbox(key="kv.paged").check().run()
    assert_clean(at)
    assert "rounded up to blocks of 16" in all_text(at)


LOCAL_CONFIG = '{"model_type": "llama", "num_hidden_layers": 3, "num_attention_heads": 4, "hidden_size": 64}'


def test_a_hub_id_naming_a_server_folder_is_refused_unless_local_models_are_allowed(tmp_path, monkeypatch):
    (tmp_path / "server_folder").mkdir()
    (tmp_path / "server_folder" / "config.json").write_text(LOCAL_CONFIG)
    monkeypatch.chdir(tmp_path)  # the folder is relative to the server's working directory
    monkeypatch.delenv("NTE_ALLOW_LOCAL_MODELS", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"source": "Hugging Face config id", "hub_id": "server_folder"})
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    text = all_text(at)
    assert "folder on the server is switched off" in text
    assert "3 layers" not in text and "on the Hugging Face Hub" not in text and not plotly_specs(at)
    monkeypatch.setenv("NTE_ALLOW_LOCAL_MODELS", "1")  # the operator allows it: the folder is read, named as one
    at.text_input(key="kv.hub_id").input("./server_folder").run()
    assert_clean(at)
    text = all_text(at)
    assert "config.json in the folder ./server\\_folder on this server" in text and "Hugging Face Hub" not in text
