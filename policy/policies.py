"""policy/rules.py's plain checks wrapped in pulumi-policy's policy classes.

Mandatory enforcement: a violation fails `pulumi preview` (the PR shows it) and blocks
`pulumi up`. The opt-ins (static keys, a public Triton) are policy config, which the workflows
derive from the stack's own config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import RULES, STACK_RULE_DESCRIPTION, STACK_RULE_NAME, Rule, StackResource, s3_buckets_guarded

PACK_NAME = "triton-platform"


def _with_defaults(rule: Rule, config: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: v.get("default") for k, v in rule.config.items()}
    merged.update(config)
    return merged


def _validator(rule: Rule) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check(args.resource_type, args.props, _with_defaults(rule, args.get_config())):
            report_violation(message, None)

    return validate


def _validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [
        StackResource(r.resource_type, r.urn, r.parent.urn if r.parent is not None else None, r.props)
        for r in args.resources
    ]
    for urn, message in s3_buckets_guarded(resources, args.get_config()):
        report_violation(message, urn)


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=_validator(rule),
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()})
            if rule.config
            else None,
        )
        for rule in RULES
    ]
    policies.append(
        StackValidationPolicy(
            name=STACK_RULE_NAME,
            description=STACK_RULE_DESCRIPTION,
            validate=_validate_stack,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
    )
    return policies
