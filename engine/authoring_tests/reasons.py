"""The reasons an `expect_error:` may name, and which refusals of the engine each one covers.

A test names a reason in the words of the flow's author (`not_allowed`, `wrong_state`, `required`, ...);
the engine refuses with its own error classes (engine/records/errors.py, approvals.py, task_actions.py),
each with a stable `code`. A refusal matches a reason when the reason is one of the words below that
covers it, or is the `code` of its class or of a class it derives from (so `forbidden` matches
`not_approver` too). The list is documented in docs/flow-tests.md.
"""
from __future__ import annotations

from collections.abc import Callable

from engine.records.errors import (
    CommentRequired, ConditionFailed, Forbidden, MissingRequired, NotFound, RecordClosed, StaleVersion, TransitionNotAllowed,
    ValidationFailed, WorkflowError, WrongState,
)


def _all_required(exc: WorkflowError) -> bool:
    errors = getattr(exc, "field_errors", {}) or {}
    return bool(errors) and all(getattr(m, "code", None) == "required" for m in errors.values())


def _is(*classes: type[WorkflowError]) -> Callable[[WorkflowError], bool]:
    return lambda exc: isinstance(exc, classes)


def _no_approval(exc: WorkflowError) -> bool:
    return getattr(exc, "code", None) == "no_approval"


# reason → (what it means, for the docs; does a refusal match it)
REASONS: dict[str, tuple[str, Callable[[WorkflowError], bool]]] = {
    "not_allowed": ("the acting user may not do this (not their role, not an approver, their own record, "
                    "an action the state does not allow)", _is(Forbidden)),
    "wrong_state": ("the record is not in a state where this can happen (a transition from another state, a closed "
                    "record, a decision with no approval open)", lambda e: isinstance(e, (WrongState, RecordClosed)) or _no_approval(e)),
    "required": ("a required value or the comment is missing", lambda e: isinstance(e, (MissingRequired, CommentRequired))
                 or (isinstance(e, ValidationFailed) and _all_required(e))),
    "invalid": ("a value is refused (out of range, wrong pattern, no such record to refer to, not unique)", _is(ValidationFailed)),
    "condition_failed": ("the transition's `when:` does not hold", _is(ConditionFailed)),
    "not_found": ("no such record", _is(NotFound)),
    "stale_version": ("someone changed the record meanwhile", _is(StaleVersion)),
    "refused": ("any refusal at all", _is(WorkflowError)),
    "transition_not_allowed": ("any reason a transition cannot fire now", _is(TransitionNotAllowed)),
}

# The engine's own codes, also accepted as they are (a refusal matches its code and its base classes' codes).
ENGINE_CODES = ("forbidden", "read_only_field", "not_approver", "self_approval", "action_not_allowed", "validation_failed",
                "unknown_transition", "wrong_state", "record_closed", "condition_failed", "missing_required",
                "comment_required", "already_decided", "no_approval", "urge_too_soon")


def known_reasons() -> list[str]:
    return sorted({*REASONS, *ENGINE_CODES})


def codes_of(exc: BaseException) -> list[str]:
    """The codes of `exc`'s class and its base classes, most specific first."""
    found = [getattr(exc, "code", None)] + [c.__dict__.get("code") for c in type(exc).__mro__]
    return list(dict.fromkeys(c for c in found if isinstance(c, str)))


def matches(reason: str, exc: WorkflowError) -> bool:
    entry = REASONS.get(reason)
    if entry is not None and entry[1](exc):
        return True
    return reason in codes_of(exc)


def reason_of(exc: WorkflowError) -> str:
    """The word a failure report names a refusal with: the first author's word that covers it, else its code."""
    for word in ("wrong_state", "not_allowed", "required", "condition_failed", "invalid", "not_found", "stale_version"):
        if REASONS[word][1](exc):
            return word
    return codes_of(exc)[0] if codes_of(exc) else "refused"
