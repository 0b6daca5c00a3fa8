# Two entry points: `make demo` and `make test`. Everything else is set-up they depend on.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PD22 := .venv-pandas22
STAMP := $(VENV)/.installed
LABEXT_SRC := $(shell find labextension/src labextension/style labextension/scripts -type f 2>/dev/null) \
	labextension/package.json labextension/package-lock.json labextension/tsconfig.json

.PHONY: demo test setup system-deps pytest pytest-pandas22 cargo-test install-test bench bench-smoke clean

demo: setup
	$(VPY) -m stratum_jupyter.demo

test: setup pytest pytest-pandas22 cargo-test

setup: $(STAMP)

# Debian packages the tests need: graphviz's `dot` and headless chromium for the browser test.
system-deps:
	@command -v dot >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; }

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip "maturin>=1.9.4,<2"

# The same path as a user's `pip install .`: build_backend/stratum_build.py builds the JupyterLab
# extension (npm) when it is missing or older than its sources, then maturin builds the package.
$(STAMP): $(VENV)/bin/python pyproject.toml build_backend/stratum_build.py rust/Cargo.toml $(LABEXT_SRC) \
		$(shell find rust/src stratum_jupyter -name '*.rs' -o -name '*.py' 2>/dev/null)
	$(VPY) -m pip install -q -e ".[test]"
	touch $(STAMP)

pytest: setup system-deps
	$(VPY) -m pytest -q -m "not install" tests rust/tests_py/smoke_run_plan.py; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

# The fidelity corpus and the model-selection tests again under the oldest supported lines:
# pandas 2.2 (no copy-on-write by default) and scikit-learn 1.5 (before its tags API).
$(PD22)/.installed: $(STAMP)
	$(PY) -m venv $(PD22)
	$(PD22)/bin/python -m pip install -q --upgrade pip "maturin>=1.9.4,<2"
	$(PD22)/bin/python -m pip install -q "pandas>=2.2,<2.3" "scikit-learn>=1.5,<1.6" -e ".[test]"
	touch $@

pytest-pandas22: $(PD22)/.installed system-deps
	$(PD22)/bin/python -m pytest -q tests/test_fidelity.py tests/test_magics.py tests/test_batch.py tests/test_runtime.py tests/test_model_selection.py tests/test_fold_tasks.py tests/test_dask_cluster.py tests/test_process_state.py; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

cargo-test:
	cd rust && cargo test --release -q

# A fresh clone of HEAD pip-installed into a new venv, without make; then its sdist, without Node.
install-test: setup
	$(VPY) -m pytest -q -m install tests/test_install.py

test: install-test

# ---- JupyterLab extension (the graph widget's view): built by the install step above and
# shipped in the wheel via maturin's data dir (build/wheel-data/data/share/jupyter/labextensions).
.PHONY: node-test browser-test

# the same stamp as the build backend's, which runs this same npm install when it is missing
labextension/node_modules/.ci-stamp: labextension/package.json labextension/package-lock.json
	cd labextension && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

node-test: labextension/node_modules/.ci-stamp
	cd labextension && npx vitest run

tests/browser/node_modules/.ci-stamp: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

# JupyterLab on 127.0.0.1 + Debian's chromium (never a downloaded browser) via playwright-core.
browser-test: setup system-deps tests/browser/node_modules/.ci-stamp
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(VPY) tests/browser/run.py

test: node-test browser-test

bench: setup
	$(VPY) -m stratum_jupyter.cli bench

# `stratum bench --quick` once, as a smoke test: every workload needs medians (of the modes that apply),
# ratios, peak PSS and an identical verdict.
bench-smoke: setup
	mkdir -p test-artifacts
	$(VENV)/bin/stratum bench --quick --json test-artifacts/bench-quick.json
	$(VPY) -c "import json; from stratum_jupyter.bench.modes import MODES; \
	r = json.load(open('test-artifacts/bench-quick.json')); w = r['workloads']; \
	assert w and all(set(x['medians']) == {m for m in MODES if MODES[m].applies_to(n)} and x['ratios'] and x['fidelity']['verdict'] == 'identical' and all(e['peak_pss_mb'] for e in x['modes'].values()) for n, x in w.items()), w; \
	print('bench smoke: ok for', ', '.join(w))"

test: bench-smoke

clean:
	rm -rf $(VENV) $(PD22) rust/target build
