# Thin wrappers: the scripts are the source of truth (CI runs scripts/test.sh via .ci/run).
.PHONY: dev test destroy samples preview preview-comment loadtest

dev:            ## set up and `pulumi up` the dev stack (kind + MinIO + Prometheus + Triton)
	bash scripts/dev-up.sh

test:           ## set up and run ruff, mypy and the whole pytest suite
	bash scripts/test.sh

samples:        ## generate the sample ONNX models
	.venv/bin/python -m samples.make_samples

preview:        ## pulumi preview of the dev stack
	PULUMI_BACKEND_URL=file://$(CURDIR)/.state/pulumi PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-} pulumi preview --stack dev

preview-comment: ## the pull-request comment for the dev stack's preview (Markdown on stdout)
	mkdir -p .state
	PULUMI_BACKEND_URL=file://$(CURDIR)/.state/pulumi PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-} pulumi preview --stack dev --event-log .state/preview-dev.jsonl >/dev/null || true
	.venv/bin/python -m triton_platform.preview --stack dev=.state/preview-dev.jsonl

destroy:        ## tear the dev stack down (kind cluster included)
	PULUMI_BACKEND_URL=file://$(CURDIR)/.state/pulumi PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-} pulumi destroy --stack dev --yes

# `make loadtest STACK=<stack>`: `helm test` of the stack's Triton release (release "triton", the
# TritonServer component's name): the chart's perf_analyzer Job runs against every published model
# and fails on a missed loadTest threshold; --logs prints perf_analyzer's report. The kubeconfig
# comes from the stack output `kubeconfig` (a secret: written to a private temporary file only).
STACK ?= dev
LOADTEST_TIMEOUT ?= 30m
loadtest:       ## perf_analyzer against every model of a stack's Triton (make loadtest STACK=prod)
	@set -eu; \
	export PULUMI_BACKEND_URL="$${PULUMI_BACKEND_URL-file://$(CURDIR)/.state/pulumi}" PULUMI_CONFIG_PASSPHRASE="$${PULUMI_CONFIG_PASSPHRASE-}"; \
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	(umask 077; pulumi stack output --stack "$(STACK)" --show-secrets kubeconfig > "$$tmp/kubeconfig"); \
	ns="$$(pulumi stack output --stack "$(STACK)" tritonNamespace)"; \
	helm="$${HELM:-$$(command -v helm || echo $(CURDIR)/.cache/tools/helm)}"; \
	"$$helm" test triton --namespace "$$ns" --kubeconfig "$$tmp/kubeconfig" --logs --timeout "$(LOADTEST_TIMEOUT)"
