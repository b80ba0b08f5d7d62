"""Reads the engine event log `pulumi preview --event-log FILE` writes: one JSON object a line.

Every line is parsed with the SDK's own ``EngineEvent.from_json`` (the classes mirror
sdk/go/common/apitype/events.go), so a line the SDK would not parse is an error here too.
A preview's steps are its ``resourcePreEvent``s (``planning`` is true in a preview); a
replacement shows up as several steps for one URN (create-replacement, replace,
delete-replaced), which are folded into one logical change the way the summary counts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pulumi.automation.events import (
    DiagnosticEvent,
    EngineEvent,
    OpType,
    PolicyEvent,
    StepEventMetadata,
    SummaryEvent,
)

# The operations a summary counts (SummaryEvent.resource_changes keys, deploy.StepOp names).
COUNTED_OPS = ("create", "update", "replace", "delete", "same")
# Steps that are part of a replacement; the summary counts the replacement once, as "replace".
_REPLACEMENT_OPS = {OpType.REPLACE, OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED}
# The op a step stands for in the counts; other steps (read, refresh, discard...) are not changes.
_LOGICAL = {
    OpType.SAME: "same",
    OpType.CREATE: "create",
    OpType.UPDATE: "update",
    OpType.DELETE: "delete",
    OpType.IMPORT: "create",
    OpType.READ: "read",
    OpType.REFRESH: "refresh",
    OpType.DISCARD: "discard",
}
STACK_TYPE = "pulumi:pulumi:Stack"


class EventLogError(ValueError):
    """An event log line that is not an engine event."""


@dataclass
class Change:
    """One resource's logical change in a preview: its steps folded into one operation."""

    urn: str
    type: str
    op: str
    steps: list[StepEventMetadata] = field(default_factory=list)

    @property
    def name(self) -> str:
        # urn:pulumi:<stack>::<project>::<type chain>::<name>; a name may itself hold "::".
        parts = self.urn.split("::", 3)
        return parts[3] if len(parts) == 4 else self.urn

    def old_inputs(self) -> dict[str, object]:
        for s in self.steps:
            if s.old is not None and s.old.inputs is not None:
                return dict(s.old.inputs)
        return {}

    def old_outputs(self) -> dict[str, object]:
        for s in self.steps:
            if s.old is not None and s.old.outputs is not None:
                return dict(s.old.outputs)
        return {}

    def new_inputs(self) -> dict[str, object]:
        for s in self.steps:
            if s.new is not None and s.new.inputs is not None:
                return dict(s.new.inputs)
        return {}

    def protected(self) -> bool:
        return any(bool(st.protect) for s in self.steps for st in (s.old, s.new) if st is not None)

    def retained(self) -> bool:
        return any(bool(st.retain_on_delete) for s in self.steps for st in (s.old, s.new) if st is not None)

    def changed_keys(self) -> list[str]:
        """Top-level property names the engine reports as changed (names, never values)."""
        keys: list[str] = []
        for s in self.steps:
            for k in (s.diffs or []) + list((s.detailed_diff or {}).keys()) + (s.keys or []):
                top = k.split(".", 1)[0].split("[", 1)[0]
                if top and top not in keys:
                    keys.append(top)
        return keys

    def replace_keys(self) -> list[str]:
        keys: list[str] = []
        for s in self.steps:
            for k in s.keys or []:
                top = k.split(".", 1)[0].split("[", 1)[0]
                if top not in keys:
                    keys.append(top)
        return keys


@dataclass
class StackPreview:
    """Everything one stack's event log says, in the order the comment needs it."""

    stack: str
    changes: list[Change] = field(default_factory=list)
    summary: SummaryEvent | None = None
    diagnostics: list[DiagnosticEvent] = field(default_factory=list)
    policy_events: list[PolicyEvent] = field(default_factory=list)
    failed_ops: int = 0
    cancelled: bool = False
    # Set when there was no log to read at all (the preview never ran).
    missing: str | None = None

    @property
    def errors(self) -> list[DiagnosticEvent]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def failed(self) -> bool:
        # The CLI ends a successful preview with a summary event; errors or a missing summary mean it failed.
        return bool(self.missing) or bool(self.errors) or self.failed_ops > 0 or self.summary is None

    def counts(self) -> dict[str, int]:
        """Changes by operation: the summary event's own numbers when there is one."""
        if self.summary is not None:
            return {op: int(self.summary.resource_changes.get(op, 0)) for op in COUNTED_OPS}  # type: ignore[call-overload]
        return self.counted_from_steps()

    def counted_from_steps(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTED_OPS, 0)
        for c in self.changes:
            if c.op in counts:
                counts[c.op] += 1
        return counts


def parse_lines(lines: Iterable[str]) -> list[EngineEvent]:
    """Each non-empty line as an EngineEvent, parsed by the SDK; a bad line is an EventLogError."""
    events: list[EngineEvent] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise EventLogError(f"line {number}: not JSON ({err.msg})") from None
        if not isinstance(data, dict):
            raise EventLogError(f"line {number}: an engine event is a JSON object")
        try:
            events.append(EngineEvent.from_json(data))
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise EventLogError(f"line {number}: not an engine event ({err})") from None
    return events


def fold(stack: str, events: Iterable[EngineEvent]) -> StackPreview:
    """Fold a stack's events into its preview: one Change per URN, in first-seen order."""
    preview = StackPreview(stack=stack)
    by_urn: dict[str, Change] = {}
    for e in sorted(events, key=lambda ev: ev.sequence):
        if e.resource_pre_event is not None:
            md = e.resource_pre_event.metadata
            change = by_urn.get(md.urn)
            if change is None:
                change = Change(urn=md.urn, type=md.type, op=_LOGICAL.get(md.op, str(md.op.value)))
                by_urn[md.urn] = change
                preview.changes.append(change)
            change.steps.append(md)
            if md.op in _REPLACEMENT_OPS:
                change.op = "replace"
        elif e.summary_event is not None:
            preview.summary = e.summary_event
        elif e.diagnostic_event is not None:
            preview.diagnostics.append(e.diagnostic_event)
        elif e.policy_event is not None:
            preview.policy_events.append(e.policy_event)
        elif e.res_op_failed_event is not None:
            preview.failed_ops += 1
        elif e.cancel_event is not None:
            preview.cancelled = True
    return preview


def load(stack: str, path: Path | str) -> StackPreview:
    """The preview of ``stack`` from its event log file; a missing or empty log is a failed preview."""
    p = Path(path)
    if not p.is_file():
        return StackPreview(stack=stack, missing=f"no event log at {p.name}: the preview did not run")
    with p.open(encoding="utf-8") as fh:
        preview = fold(stack, parse_lines(fh))
    if not (preview.changes or preview.summary or preview.diagnostics):
        preview.missing = "the event log is empty: the preview stopped before the engine started"
    return preview
