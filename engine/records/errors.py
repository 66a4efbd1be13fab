"""Errors of the record API. Each has a stable `code` and a message for a person.

The web layers map them to HTTP statuses; nothing here knows about HTTP.
"""
from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    code = "workflow_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(WorkflowError):
    code = "not_found"


class Forbidden(WorkflowError):
    """The user lacks the role for this action."""

    code = "forbidden"


class ReadOnlyField(Forbidden):
    code = "read_only_field"


class ValidationFailed(WorkflowError):
    """One or more field values are invalid; `field_errors` maps field → message."""

    code = "validation_failed"

    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        self.field_errors = dict(field_errors)
        text = message or "; ".join(f"{k}: {v}" for k, v in self.field_errors.items())
        super().__init__(text, field_errors=self.field_errors)


class StaleVersion(WorkflowError):
    """Someone else changed the record since the caller read it."""

    code = "stale_version"

    def __init__(self, current_version: int, expected: int | None) -> None:
        super().__init__(
            f"the record was changed by someone else (now version {current_version}, you had {expected}); reload it and try again",
            current_version=current_version,
        )
        self.current_version = current_version


class TransitionNotAllowed(WorkflowError):
    """The transition cannot fire now: wrong state, closed record, false condition, ..."""

    code = "transition_not_allowed"


class UnknownTransition(TransitionNotAllowed):
    code = "unknown_transition"


class WrongState(TransitionNotAllowed):
    code = "wrong_state"


class RecordClosed(TransitionNotAllowed):
    code = "record_closed"


class ConditionFailed(TransitionNotAllowed):
    code = "condition_failed"


class MissingRequired(TransitionNotAllowed):
    code = "missing_required"

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message, fields=fields)
        self.fields = fields


class CommentRequired(TransitionNotAllowed):
    code = "comment_required"


class Unauthenticated(WorkflowError):
    """No valid credentials: a wrong password, an unknown, expired or revoked token or session."""

    code = "unauthenticated"
