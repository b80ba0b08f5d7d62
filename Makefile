# Thin wrappers: the scripts are the source of truth (CI runs scripts/test.sh via .ci/run).
.PHONY: dev test destroy samples preview

dev:            ## set up and `pulumi up` the dev stack (kind + MinIO + Prometheus + Triton)
	bash scripts/dev-up.sh

test:           ## set up and run ruff, mypy and the whole pytest suite
	bash scripts/test.sh

samples:        ## generate the sample ONNX models
	.venv/bin/python -m samples.make_samples

preview:        ## pulumi preview of the dev stack
	PULUMI_BACKEND_URL=file://$(CURDIR)/.state/pulumi PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-} pulumi preview --stack dev

destroy:        ## tear the dev stack down (kind cluster included)
	PULUMI_BACKEND_URL=file://$(CURDIR)/.state/pulumi PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE-} pulumi destroy --stack dev --yes
