"""A small evaluator of AWS IAM identity-based policies, following IAM's documented logic.

Used by the tests to decide real S3 requests (action, resource ARN, request-context keys)
against our policy documents. It implements, from the IAM User Guide:

- "Policy evaluation logic" (reference_policies_evaluation-logic.html): an explicit Deny in any
  statement wins, else any Allow, else the request is implicitly denied. Only identity-based
  policies of one account (no SCPs, boundaries, session or resource policies).
- "IAM JSON policy elements: Action / NotAction / Resource / NotResource": actions are
  ``service:Name``, case-insensitive, with ``*`` and ``?`` wildcards; resource ARNs match
  case-sensitively segment by segment (the six colon-separated parts), ``*``/``?`` inside a
  segment, the last (resource) segment taking the rest of the ARN, ``"*"`` matching anything.
- "IAM JSON policy elements: Condition operators" (reference_policies_elements_condition_
  operators.html): String*, Arn*, Numeric*, Bool, Null; every operator of a block and every key
  of an operator must hold (AND), any of a key's values may match (OR), and a negated operator
  holds when no value matches. A key absent from the request context makes the condition false,
  except for negated operators (true), ``...IfExists`` (true) and ``Null`` (tests presence).
  Condition key names are case-insensitive.
- "Multivalued context keys" (reference_policies_condition-single-vs-multi-valued-context-
  keys.html): ``ForAnyValue:`` holds when some request value satisfies the operator (false when
  the key is absent or empty), ``ForAllValues:`` when every one does (true when absent or empty).

Anything outside that (policy variables, Principal, other operators) raises instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorisation request: what an API call is checked as (and which call it was)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    call: str = ""

    def __str__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.context.items()) or "no keys"
        return f"{self.call or self.action} {self.action} on {self.resource} ({keys})"


@lru_cache(maxsize=512)
def _glob(pattern: str, case_sensitive: bool = True) -> re.Pattern[str]:
    parts = ["^"]
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    parts.append("$")
    return re.compile("".join(parts), re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def action_matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    return bool(_glob(pattern, case_sensitive=False).match(action))


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: six segments, each matched on its own; the sixth takes the rest."""
    if pattern == "*":
        return True
    p, a = pattern.split(":", 5), arn.split(":", 5)
    if len(p) != 6 or len(a) != 6:
        return False
    return all(_glob(ps).match(as_) for ps, as_ in zip(p, a, strict=True))


def _string_match(op: str, policy_value: str, value: str) -> bool:
    if op in ("StringEquals", "StringNotEquals"):
        return policy_value == value
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return policy_value.lower() == value.lower()
    if op in ("StringLike", "StringNotLike"):
        return bool(_glob(policy_value).match(value))
    if op in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return arn_matches(policy_value, value)
    if op == "Bool":
        return policy_value.lower() == value.lower()
    numeric = {
        "NumericEquals": lambda x, y: x == y,
        "NumericNotEquals": lambda x, y: x == y,
        "NumericLessThan": lambda x, y: x < y,
        "NumericLessThanEquals": lambda x, y: x <= y,
        "NumericGreaterThan": lambda x, y: x > y,
        "NumericGreaterThanEquals": lambda x, y: x >= y,
    }
    if op in numeric:
        return bool(numeric[op](float(value), float(policy_value)))
    raise ValueError(f"condition operator {op!r} is not implemented by this evaluator")


_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
}


def _satisfies(op: str, policy_values: list[str], value: str) -> bool:
    """One request value against an operator: any policy value matches (none, when negated)."""
    hit = any(_string_match(op, str(pv), value) for pv in policy_values)
    return not hit if op in _NEGATED else hit


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    for k, v in context.items():
        if k.lower() == key.lower():
            return [v] if isinstance(v, str) else list(v)
    return None


def condition_holds(operator: str, key: str, policy_values: Any, context: Mapping[str, ContextValue]) -> bool:
    """One ``operator: {key: values}`` entry against the request context."""
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(policy_values)]
    for v in values:
        if "${" in v:
            raise ValueError(f"policy variable in {v!r} is not implemented by this evaluator")
    present = _lookup(context, key)
    qualifier, _, op = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"set operator {qualifier!r} is not an IAM set operator")
    if op == "Null":
        if qualifier:
            raise ValueError("Null takes no set operator")
        (want,) = values
        return (present is None) == (want.lower() == "true")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    if qualifier == "ForAnyValue":
        return present is not None and any(_satisfies(op, values, v) for v in present)
    if qualifier == "ForAllValues":
        return present is None or all(_satisfies(op, values, v) for v in present)
    if present is None:
        # Absent key: false, except negated operators and ...IfExists (both true).
        return if_exists or op in _NEGATED
    if len(present) != 1:
        raise ValueError(f"{key} has several values: use ForAnyValue or ForAllValues with it")
    return _satisfies(op, values, present[0])


def _statement_applies(s: Mapping[str, Any], req: Request) -> bool:
    if "Principal" in s or "NotPrincipal" in s:
        raise ValueError("Principal belongs in resource and trust policies; this evaluates identity policies")
    if ("Action" in s) == ("NotAction" in s):
        raise ValueError(f"statement {s.get('Sid')!r} needs exactly one of Action and NotAction")
    if ("Resource" in s) == ("NotResource" in s):
        raise ValueError(f"statement {s.get('Sid')!r} needs exactly one of Resource and NotResource")
    if "Action" in s:
        action_ok = any(action_matches(a, req.action) for a in _as_list(s["Action"]))
    else:
        action_ok = not any(action_matches(a, req.action) for a in _as_list(s["NotAction"]))
    if not action_ok:
        return False
    if "Resource" in s:
        resource_ok = any(arn_matches(r, req.resource) for r in _as_list(s["Resource"]))
    else:
        resource_ok = not any(arn_matches(r, req.resource) for r in _as_list(s["NotResource"]))
    if not resource_ok:
        return False
    for operator, keys in (s.get("Condition") or {}).items():
        for key, values in keys.items():
            if not condition_holds(operator, key, values, req.context):
                return False
    return True


def evaluate(policies: Sequence[Mapping[str, Any]], req: Request) -> Decision:
    """The decision for ``req`` under identity policies ``policies`` of one principal."""
    allowed = False
    for doc in policies:
        if doc.get("Version") != "2012-10-17":
            raise ValueError("policies must say Version 2012-10-17")
        statements = doc["Statement"]
        for s in statements if isinstance(statements, list) else [statements]:
            if s["Effect"] not in ("Allow", "Deny"):
                raise ValueError(f"Effect {s['Effect']!r}")
            if _statement_applies(s, req):
                if s["Effect"] == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def allowed(policy: Mapping[str, Any], req: Request) -> bool:
    return evaluate([policy], req) is Decision.ALLOW
