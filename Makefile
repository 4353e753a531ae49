# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install serve bench train train-voting train-venv train-smoke clean system-packages

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tidebreak demo

# Two tests need Debian packages: the console's browser tests drive Chromium, and the int8 test
# runs the graphs on an emulated AVX2 CPU with qemu-user. Install them when missing and we may
# (root); elsewhere those tests skip and say why. Playwright never downloads a browser of its own.
system-packages:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v qemu-x86_64 >/dev/null || missing="$$missing qemu-user"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } \
			|| echo "could not install$$missing: the tests that need them will skip"; \
	fi

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/tidebreak serve

bench: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py

# Full harm-classifier training (CPU, ~45 min on 2 cores): fine-tune MiniLM, export int8 ONNX,
# calibrate and evaluate, install into models/harm/ and fuse its attention (QAttention, outputs
# unchanged: training/fuse_attention.py), then run the functional tests and write the
# model card with the runtime venv. Nothing is downloaded at run time (HF_HUB_OFFLINE).
TRAIN_VENV := .venv-train
train-venv:
	test -x $(TRAIN_VENV)/bin/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet torch==2.13.0 -e '.[train]'

train: $(STAMP) train-venv
	HF_HUB_OFFLINE=1 $(TRAIN_VENV)/bin/python training/finetune_harm.py
	$(TRAIN_VENV)/bin/python training/finetune_harm.py --install
	$(TRAIN_VENV)/bin/python training/fuse_attention.py models/harm/harm.int8.onnx
	$(BIN)/python training/harm_card.py

# The election-claims model (models/voting/): the graph, its n-gram member, its calibration
# (which prints the policy's election bars re-derived on dev), then the fused graph (~26 min on 2 cores).
train-voting: $(STAMP) train-venv
	HF_HUB_OFFLINE=1 $(TRAIN_VENV)/bin/python training/train_voting.py
	$(TRAIN_VENV)/bin/python training/voting_ngram.py --install --test
	$(TRAIN_VENV)/bin/python training/voting_calibrate.py --install --test
	$(TRAIN_VENV)/bin/python training/fuse_attention.py models/voting/voting.int8.onnx

clean:
	rm -rf var .pytest_cache

# CI's tiny training run (~20 s after the venv exists): 80 rows of the repository's own sets,
# the whole export and quantisation path, then a check that the runtime loads what it wrote.
train-smoke: train-venv
	HF_HUB_OFFLINE=1 $(TRAIN_VENV)/bin/python training/finetune_harm.py --smoke
