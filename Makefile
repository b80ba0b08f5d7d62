# Thin wrappers: the scripts are the source of truth (CI runs scripts/test.sh via .ci/run).
# `make` (or `make help`) lists the targets. Every target works from a fresh clone: it creates
# .venv when it needs it (scripts/venv.sh: Python 3.11 or 3.12), and a missing or too old tool is
# named with the command that installs it (scripts/tools.sh); `make dev-check` checks everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help venv tools dev-check dev test samples validate stack preview preview-comment destroy loadtest

# The Python the targets run. Another environment: make validate PY=python3 VENV_TARGET=
PY ?= .venv/bin/python
VENV_TARGET ?= venv
# STACK given on the command line or in the environment (make validate checks every stack without).
STACK_GIVEN := $(filter command line environment,$(origin STACK))
STACK ?= dev
# The dev stack's Pulumi settings (scripts/env.sh): its file backend in .state/pulumi, the
# passphrase, .cache/tools on PATH. The dev stack always lives in this checkout.
DEV_PULUMI = source scripts/env.sh && export PULUMI_BACKEND_URL="$$TRITON_PLATFORM_DEV_BACKEND"

help:           ## list the targets
	@echo "make <target>   (scripts/: the same steps without make)"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^#]*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv:           ## create or refresh .venv (Python 3.11 or 3.12) from requirements.txt
	@bash scripts/venv.sh requirements.txt

tools:          ## install the pinned kind, pulumi, helm, kubectl into .cache/tools (sha256-verified)
	@bash scripts/tools.sh install kind pulumi helm kubectl

dev-check:      ## check this machine for the dev stack (Docker memory/CPUs/disk, Python, tools); changes nothing
	@bash scripts/dev-up.sh --check

dev:            ## set up and `pulumi up` the dev stack (kind + SeaweedFS + Prometheus + Triton), then a smoke request
	bash scripts/dev-up.sh

test:           ## set up and run ruff, mypy and the whole pytest suite
	bash scripts/test.sh

samples: $(VENV_TARGET) ## generate the sample ONNX models
	$(PY) -m samples.make_samples

validate: $(VENV_TARGET) ## check stack files as `pulumi up` would, without Pulumi (make validate STACK=prod; all without STACK)
	$(PY) -m triton_platform.config $(if $(STACK_GIVEN),Pulumi.$(STACK).yaml,$(sort $(wildcard Pulumi.*.yaml)))

stack: samples  ## write Pulumi.<NAME>.yaml for a new stack (make stack NAME=ml-prod CLOUD=aws|gcp|azure)
	$(PY) -m scripts.new_stack --name "$(NAME)" --cloud "$(CLOUD)"

preview: need-pulumi $(VENV_TARGET) ## pulumi preview of the dev stack
	@$(DEV_PULUMI) && pulumi preview --stack dev

preview-comment: need-pulumi $(VENV_TARGET) ## the pull-request comment for the dev stack's preview (Markdown on stdout)
	@$(DEV_PULUMI) && mkdir -p .state && \
	{ pulumi preview --stack dev --event-log .state/preview-dev.jsonl >/dev/null || true; } && \
	$(PY) -m triton_platform.preview --stack dev=.state/preview-dev.jsonl

destroy: need-pulumi+kind $(VENV_TARGET) ## tear the dev stack down (kind cluster included)
	@$(DEV_PULUMI) && pulumi destroy --stack dev --yes

# `make loadtest STACK=<stack>`: `helm test` of the stack's Triton release (release "triton", the
# TritonServer component's name): the chart's perf_analyzer Job runs against every published model
# and fails on a missed loadTest threshold; --logs prints perf_analyzer's report. The kubeconfig
# comes from the stack output `kubeconfig` (a secret: written to a private temporary file only).
# The backend is yours when PULUMI_BACKEND_URL is set, else the dev stack's (scripts/env.sh).
LOADTEST_TIMEOUT ?= 30m
loadtest: need-pulumi+helm ## perf_analyzer against every model of a stack's Triton (make loadtest STACK=prod)
	@set -eu; source scripts/env.sh; \
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	(umask 077; pulumi stack output --stack "$(STACK)" --show-secrets kubeconfig > "$$tmp/kubeconfig"); \
	ns="$$(pulumi stack output --stack "$(STACK)" tritonNamespace)"; \
	helm="$${HELM:-$$(command -v helm)}"; \
	"$$helm" test triton --namespace "$$ns" --kubeconfig "$$tmp/kubeconfig" --logs --timeout "$(LOADTEST_TIMEOUT)"

# need-<tool>[+<tool>...]: every tool is there (.cache/tools or PATH, new enough), else each missing
# one is named at once with the command that installs it, before anything else runs.
need-%:
	@bash scripts/tools.sh check $(subst +, ,$*)
