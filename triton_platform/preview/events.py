"""Reads the engine event log `pulumi preview --event-log FILE` writes: one JSON object a line.

Each line is an ``apitype.EngineEvent`` (sdk/go/common/apitype/events.go), parsed with the SDK's
own ``EngineEvent.from_json``. A preview's steps are its ``resourcePreEvent``s, folded into
logical changes the way the engine counts them (pkg/engine/update.go ``OnResourceStepPost``):
only logical steps count (``Step.Logical()`` in pkg/resource/deploy/step.go), the steps of one
replacement (create-replacement, replace, delete-replaced; under an alias the old URN's
delete-replaced too) are one ``replace``, a ``refresh`` step never decides what happens next
(``pulumi preview --refresh``), and a URN may carry several changes (a ``same`` then a
``delete``). One bad line or a step op newer than this SDK is reported, never fatal; a file
with no engine event at all is not an event log (:class:`EventLogError`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.automation.events import (
    DiagnosticEvent,
    EngineEvent,
    OpType,
    PolicyEvent,
    StepEventMetadata,
    SummaryEvent,
)

# The counts every section shows, even at zero; any other op a summary counts is shown after them.
COUNTED_OPS = ("create", "update", "replace", "delete", "same")
# deploy.StepOps (pkg/resource/deploy/step.go): the order other ops are listed in.
STEP_OPS = (
    *COUNTED_OPS,
    "create-replacement",
    "delete-replaced",
    "read",
    "read-replacement",
    "refresh",
    "discard",
    "discard-replaced",
    "remove-pending-replace",
    "import",
    "import-replacement",
    "diff",
    "extend-parameterize",
)
# Ops that change nothing: engine.HasChanges (pkg/engine/update.go) leaves them out.
NO_CHANGE_OPS = frozenset({"same", "read", "discard", "read-replacement", "refresh"})
# deploy.IsReplacementStep, less remove-pending-replace (internal): one replacement's steps.
REPLACEMENT_OPS = frozenset(
    {"replace", "create-replacement", "delete-replaced", "read-replacement", "discard-replaced", "import-replacement"}
)
# Steps whose Logical() is false: the engine never counts them (a refresh counts only as the
# result op of a `pulumi refresh`, see Change.refresh_result).
UNCOUNTED_OPS = frozenset(REPLACEMENT_OPS - {"replace"} | {"refresh", "remove-pending-replace", "extend-parameterize"})
# engine.isInternalStep: never shown, never counted (like default-provider steps).
INTERNAL_OPS = frozenset({"remove-pending-replace", "extend-parameterize"})
STACK_TYPE = "pulumi:pulumi:Stack"
_SDK_OPS = frozenset(op.value for op in OpType)
_STEP_EVENTS = ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent")
MAX_PROBLEMS = 20


class EventLogError(ValueError):
    """A file that is not an engine event log at all (nothing in it could be read)."""


@dataclass
class Change:
    """One logical change in a preview: the steps the engine counts as one operation."""

    urn: str
    type: str
    op: str
    steps: list[StepEventMetadata] = field(default_factory=list)
    # Each step's op as the log wrote it (one this SDK's OpType lacks included).
    step_ops: list[str] = field(default_factory=list)
    # Ops of its steps that failed: a resOpFailedEvent (an update), or an error diagnostic on its
    # URN with no outputs event (a preview: GetPreviewFailedError). A failed step did not happen.
    failed_ops: set[str] = field(default_factory=set)
    # The step's resOutputsEvent: it completed (its metadata holds the state after the step).
    completed: StepEventMetadata | None = None
    # The op is a refresh step's result (`pulumi refresh`: drift found), not a planned change.
    refresh_result: bool = False

    @property
    def name(self) -> str:
        return urn_name(self.urn)

    @property
    def is_change(self) -> bool:
        """Whether it changes anything (engine.HasChanges' rule): what the tables list."""
        return self.op not in NO_CHANGE_OPS

    @property
    def failed(self) -> bool:
        return bool(self.failed_ops)

    @property
    def counted(self) -> bool:
        """Whether the engine's summary counts it (OnResourceStepPost: its logical step succeeded)."""
        if self.op in self.failed_ops or self.op in UNCOUNTED_OPS or self.op not in STEP_OPS:
            return False
        # shouldRecordReadStep: a read counts only when it changed the outputs.
        return self.op != "read" or self._read_changed()

    def _read_changed(self) -> bool:
        # The engine compares after the step ran: the outputs event's states, when there is one.
        s = self.completed or self.steps[0]
        if s.old is None or s.new is None or s.old.outputs is None or s.new.outputs is None:
            return False
        return dict(s.old.outputs) != dict(s.new.outputs)

    def _first(self, attr: str, part: str) -> dict[str, object]:
        for s in self.steps:
            state = getattr(s, attr)
            if state is not None and getattr(state, part) is not None:
                return dict(getattr(state, part))
        return {}

    def old_inputs(self) -> dict[str, object]:
        return self._first("old", "inputs")

    def old_outputs(self) -> dict[str, object]:
        return self._first("old", "outputs")

    def new_inputs(self) -> dict[str, object]:
        return self._first("new", "inputs")

    def protected(self) -> bool:
        return any(bool(st.protect) for s in self.steps for st in (s.old, s.new) if st is not None)

    def retained(self) -> bool:
        return any(bool(st.retain_on_delete) for s in self.steps for st in (s.old, s.new) if st is not None)

    def changed_keys(self) -> list[str]:
        """Top-level property names the engine reports as changed (names, never values)."""
        return _top_keys(k for s in self.steps for k in [*(s.diffs or []), *(s.detailed_diff or {}), *(s.keys or [])])

    def replace_keys(self) -> list[str]:
        return _top_keys(k for s in self.steps for k in s.keys or [])


def urn_name(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type chain>::<name>; a name may itself hold "::".
    parts = urn.split("::", 3)
    return parts[3] if len(parts) == 4 else urn


def _top_keys(paths: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for k in paths:
        top = k.split(".", 1)[0].split("[", 1)[0]
        if top and top not in keys:
            keys.append(top)
    return keys


@dataclass(frozen=True)
class Failure:
    """A resOpFailedEvent: a step the engine reports as failed (status: resource.Status)."""

    op: str
    urn: str
    type: str
    status: int

    @property
    def name(self) -> str:
        return urn_name(self.urn)


@dataclass
class StackPreview:
    """Everything one stack's event log says, in the order the comment needs it."""

    stack: str
    changes: list[Change] = field(default_factory=list)
    summary: SummaryEvent | None = None
    # summaryEvent.result ("succeeded", "failed"...), which the SDK's SummaryEvent drops.
    summary_result: str | None = None
    diagnostics: list[DiagnosticEvent] = field(default_factory=list)
    policy_events: list[PolicyEvent] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # errorEvent.error: the engine's internal errors (the SDK drops these events too).
    engine_errors: list[str] = field(default_factory=list)
    # Lines that could not be read, and steps with ops newer than this SDK: said in the comment.
    problems: list[str] = field(default_factory=list)
    # Set when there was no log to read at all (the preview never ran, or not an event log).
    missing: str | None = None
    # The file itself could not be read (missing, not UTF-8, not an event log): a user's input error.
    unreadable: bool = False

    @property
    def failed_ops(self) -> int:
        return len(self.failures)

    @property
    def errors(self) -> list[DiagnosticEvent]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def blocked_by_policy(self) -> bool:
        return any(e.enforcement_level == "mandatory" for e in self.policy_events)

    @property
    def failed(self) -> bool:
        # The CLI ends a successful preview with a summary event; errors or a missing summary mean it failed.
        return bool(
            self.missing
            or self.errors
            or self.failures
            or self.engine_errors
            or self.summary is None
            or self.summary_result == "failed"
        )

    def reasons(self) -> list[str]:
        """Why the preview failed, beyond its error diagnostics: never an unexplained failure."""
        out = [self.missing] if self.missing else []
        flagged = {d.urn for d in self.errors if d.urn}
        for f in self.failures:
            if f.urn not in flagged:
                out.append(
                    f"the engine reports the {f.op} of {f.type} '{f.name}' as failed (status {f.status}"
                    f"{_STATUS.get(f.status, '')}) and logged no error message for it"
                )
        out += [f"engine error: {e}" for e in self.engine_errors]
        if self.summary is None and not self.missing:
            out.append(
                "the log ends without the engine's summary: the preview stopped before it finished"
                + (" (or the summary's line could not be read)" if self.problems else "")
            )
        elif self.summary_result == "failed" and not (out or self.errors or self.blocked_by_policy):
            out.append("the engine's summary reports the preview as failed, with no error message in the log")
        return out

    def counts(self) -> dict[str, int]:
        """Changes by operation, every op counted: the summary event's own numbers when there is one."""
        if self.summary is not None:
            return {op: self.summary_count(op) for op in _ordered(self.summary.resource_changes)}
        return self.counted_from_steps()

    def summary_count(self, op: str) -> int:
        changes: Mapping[Any, Any] = self.summary.resource_changes if self.summary else {}
        return sum(int(n) for k, n in changes.items() if str(getattr(k, "value", k)) == op)

    def counted_from_steps(self) -> dict[str, int]:
        return dict(Counter(c.op for c in self.changes if c.counted))

    def has_changes(self) -> bool:
        """engine.HasChanges: any counted op other than same, read, discard, read-replacement."""
        return any(n for op, n in self.counts().items() if op not in NO_CHANGE_OPS)


# resource.Status (sdk/go/common/resource/status.go) after a failed step.
_STATUS = {0: ": nothing changed", 1: ": partially applied", 2: ": state unknown"}


def _ordered(changes: Mapping[Any, Any]) -> list[str]:
    ops = {str(getattr(k, "value", k)) for k in changes}
    return [op for op in STEP_OPS if op in ops] + sorted(ops - set(STEP_OPS))


# --- reading lines -------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One engine event of the log: the SDK's object, the raw JSON, and a step's op as written."""

    line: int
    event: EngineEvent
    data: Mapping[str, Any]
    op: str | None = None


def _is_event(data: Any) -> bool:
    # apitype.EngineEvent: a sequence and one "<kind>Event" payload (new kinds may appear: kept, ignored).
    return isinstance(data, dict) and any(isinstance(k, str) and k.endswith("Event") for k in data)


def _step_op(data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The event with a step op this SDK's OpType lacks replaced for parsing, and the op as written."""
    for key in _STEP_EVENTS:
        payload = data.get(key)
        if isinstance(payload, dict) and isinstance(payload.get("metadata"), dict):
            op = str(payload["metadata"].get("op", ""))
            if op in _SDK_OPS:
                return dict(data), op
            metadata = {**payload["metadata"], "op": OpType.SAME.value}
            return {**data, key: {**payload, "metadata": metadata}}, op
    return dict(data), None


def read_lines(lines: Iterable[str]) -> tuple[list[Record], list[str]]:
    """Every engine event of ``lines``, and a problem for each line that is not one."""
    records: list[Record] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            problems.append(f"line {number}: not JSON ({err.msg})")
            continue
        if not _is_event(data):
            problems.append(f"line {number}: not an engine event (no `…Event` field)")
            continue
        parsed, op = _step_op(data)
        try:
            event = EngineEvent.from_json(parsed)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            problems.append(f"line {number}: an engine event the Pulumi SDK cannot read ({err})")
            continue
        if op is not None and op not in _SDK_OPS:
            problems.append(f"line {number}: step op {op!r} is newer than this reader; shown as it is")
        records.append(Record(number, event, data, op))
    return records, problems


def parse_lines(lines: Iterable[str]) -> list[EngineEvent]:
    """The engine events of ``lines`` (the SDK's objects), skipping lines that are not events."""
    return [r.event for r in read_lines(lines)[0]]


# --- folding steps into changes ------------------------------------------------------------


def _default_provider(urn: str, type_: str) -> bool:
    # providers.IsDefaultProvider (sdk/go/common/providers/reference.go): internal, never counted.
    return type_.startswith("pulumi:providers:") and urn_name(urn).startswith("default")


class _Folder:
    """Folds a log's steps into changes (see the module docstring for the engine's rules)."""

    def __init__(self, stack: str, records: list[Record]) -> None:
        self.preview = StackPreview(stack=stack)
        steps = [(r.op or "", r.event.resource_pre_event.metadata) for r in records if r.event.resource_pre_event]
        self.type_of = {md.urn: md.type for _, md in steps}
        self.replacing = {md.urn for op, md in steps if op == "replace"}
        # An aliased replacement deletes the old URN: its delete-replaced belongs to the new one.
        self.replaced_by = {
            md.old.urn: md.urn
            for op, md in steps
            if op in REPLACEMENT_OPS and md.old is not None and md.old.urn and md.old.urn != md.urn
        }
        self.groups: dict[str, Change] = {}
        self.open_refresh: dict[str, list[Change]] = {}
        self.last: dict[str, tuple[str, Change]] = {}
        self.absorbed: set[int] = set()
        self.flagged: list[tuple[str, Change]] = []
        # A preview (planning steps): every step that succeeded has an outputs event.
        self.planning = any(r.event.resource_pre_event.planning for r in records if r.event.resource_pre_event)

    def _new(self, urn: str, type_: str, op: str, md: StepEventMetadata) -> Change:
        change = Change(urn=urn, type=type_, op=op, steps=[md], step_ops=[op])
        self.preview.changes.append(change)
        return change

    def step(self, op: str, md: StepEventMetadata) -> None:
        if op in INTERNAL_OPS or _default_provider(md.urn, md.type):
            return
        if op in REPLACEMENT_OPS:
            target = md.urn if md.urn in self.replacing else self.replaced_by.get(md.urn, md.urn)
            if target not in self.replacing:  # a lone step: a pending delete, a failed create-replacement
                change = self._new(md.urn, md.type, op, md)
            elif target in self.groups:
                change = self.groups[target]
                change.steps.append(md)
                change.step_ops.append(op)
            else:
                change = self._new(target, self.type_of.get(target, md.type), "replace", md)
                change.step_ops[0] = op
                self.groups[target] = change
        elif op == "refresh":
            change = self._new(md.urn, md.type, op, md)
            self.open_refresh.setdefault(md.urn, []).append(change)
        else:
            change = self._new(md.urn, md.type, op, md)
        if op != "refresh":
            # `preview --refresh`: the refresh before this step reads the state; this step decides.
            for r in self.open_refresh.pop(md.urn, []):
                change.steps.extend(r.steps)
                change.step_ops.extend(r.step_ops)
                self.absorbed.add(id(r))
        self.last[md.urn] = (op, change)

    def outputs(self, op: str, md: StepEventMetadata) -> None:
        pending = self.open_refresh.get(md.urn)
        change: Change | None
        if op != "refresh" and pending:
            # `pulumi refresh`: a refresh step's outputs event carries its result op (ResultOp), in
            # step order; `preview --refresh` writes "refresh" there and the next step decides.
            change = pending.pop(0)
            change.op, change.refresh_result = op, True
        else:
            prior = self.last.get(md.urn)
            change = prior[1] if prior else None
        if change is not None and change.completed is None:
            change.completed = md

    def diagnostic(self, d: DiagnosticEvent) -> None:
        self.preview.diagnostics.append(d)
        # A preview reports a failed step as an error diagnostic on its URN (GetPreviewFailedError)
        # and writes no outputs event for it; judged at the end, when every outputs event is in.
        prior = self.last.get(d.urn or "")
        if d.severity == "error" and prior is not None:
            self.flagged.append(prior)

    def failed(self, op: str, md: StepEventMetadata, status: int) -> None:
        self.preview.failures.append(Failure(op=op, urn=md.urn, type=md.type, status=status))
        prior = self.last.get(md.urn)
        if prior is not None:
            prior[1].failed_ops.add(op)

    def event(self, r: Record) -> None:
        e, p = r.event, self.preview
        if e.resource_pre_event is not None:
            self.step(r.op or "", e.resource_pre_event.metadata)
        elif e.res_outputs_event is not None:
            self.outputs(r.op or "", e.res_outputs_event.metadata)
        elif e.res_op_failed_event is not None:
            self.failed(r.op or "", e.res_op_failed_event.metadata, int(e.res_op_failed_event.status or 0))
        elif e.summary_event is not None:
            p.summary = e.summary_event
            result = (r.data.get("summaryEvent") or {}).get("result")
            p.summary_result = str(result) if result else None
        elif e.diagnostic_event is not None:
            self.diagnostic(e.diagnostic_event)
        elif e.policy_event is not None:
            p.policy_events.append(e.policy_event)
        elif isinstance(r.data.get("errorEvent"), dict):
            p.engine_errors.append(str(r.data["errorEvent"].get("error", "")))

    def result(self) -> StackPreview:
        for op, change in self.flagged:
            if self.planning and change.completed is None:
                change.failed_ops.add(op)
        self.preview.changes = [c for c in self.preview.changes if id(c) not in self.absorbed]
        return self.preview


def fold(stack: str, events: Iterable[EngineEvent | Record]) -> StackPreview:
    """Fold a stack's events (in sequence order) into its preview's changes, in first-seen order."""
    records = [e if isinstance(e, Record) else _record(e) for e in events]
    records.sort(key=lambda r: r.event.sequence)
    folder = _Folder(stack, records)
    for r in records:
        folder.event(r)
    return folder.result()


def _record(e: EngineEvent) -> Record:
    step = e.resource_pre_event or e.res_outputs_event or e.res_op_failed_event
    return Record(0, e, {}, step.metadata.op.value if step is not None else None)


# --- files ---------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The log's text; EventLogError names the full path when it cannot be read as UTF-8 text."""
    where = path.absolute()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EventLogError(f"no event log at {where}: the preview did not run (or the path is wrong)") from None
    except IsADirectoryError:
        raise EventLogError(f"{where} is a directory, not an event log file") from None
    except OSError as err:
        raise EventLogError(f"cannot read {where}: {err.strerror or err}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise EventLogError(
            f"{where} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}): "
            "not an event log `pulumi preview --event-log` writes"
        ) from None


def load(stack: str, path: Path | str) -> StackPreview:
    """The preview of ``stack`` from its event log file; a file that cannot be read is a failed preview."""
    p = Path(path)
    try:
        text = read_text(p)
    except EventLogError as err:
        return StackPreview(stack=stack, missing=str(err), unreadable=True)
    records, problems = read_lines(text.splitlines())
    if problems and not records:
        reason = f"{p.absolute()} is not a Pulumi engine event log (`pulumi preview --event-log`): {problems[0]}"
        return StackPreview(stack=stack, missing=reason, unreadable=True)
    preview = fold(stack, records)
    preview.problems = problems
    if not records:
        preview.missing = "the event log is empty: the preview stopped before the engine started"
    return preview
