"""The plan approval state machine, as pure functions (no database, no Django models).

    draft ──submit──▶ submitted ──approve──▶ approved ──start──▶ active ──complete──▶ completed
      ▲                  │  │                   │                  │
      └─ changes_requested ◀┘ └─reject─▶ rejected └────withdraw────┴──withdraw──▶ withdrawn
         (edit, then submit again)

Who may do what comes from the access policy's permissions *on the plan's PCN* (the caller asks
`inequalities.policy` and passes the answer in), so every rule here is testable with plain values:

* ``submit``, ``start``, ``complete``, ``withdraw``: SUBMIT_PLAN (the PCN's HI lead or clinical
  director);
* ``approve``, ``request_changes``, ``reject``: DECIDE_PLAN (a commissioner of the PCN's ICB), never
  by the person who submitted the version being decided;
* a comment is required to request changes, reject or withdraw; a closing summary to complete;
* editing the plan's steps: DRAFT_PLAN, only while the plan is a draft or has changes requested.
"""

from dataclasses import dataclass
from enum import StrEnum

from inequalities.policy import Permission


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def tag_colour(self):
        return STATUS_TAG_COLOURS[self]


STATUS_LABELS = {
    Status.DRAFT: "Draft",
    Status.SUBMITTED: "Awaiting decision",
    Status.CHANGES_REQUESTED: "Changes requested",
    Status.APPROVED: "Approved",
    Status.REJECTED: "Rejected",
    Status.ACTIVE: "Active",
    Status.COMPLETED: "Completed",
    Status.WITHDRAWN: "Withdrawn",
}

# nhsuk-tag modifiers; every status also has a text label, colour is never the only signal.
STATUS_TAG_COLOURS = {
    Status.DRAFT: "grey",
    Status.SUBMITTED: "blue",
    Status.CHANGES_REQUESTED: "orange",
    Status.APPROVED: "green",
    Status.REJECTED: "red",
    Status.ACTIVE: "aqua-green",
    Status.COMPLETED: "purple",
    Status.WITHDRAWN: "white",
}

EDITABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
AWAITING_DECISION = frozenset({Status.SUBMITTED})
RECORDING = frozenset({Status.APPROVED, Status.ACTIVE})  # outcome measurements may be recorded


class Transition(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    START = "start"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Rule:
    sources: frozenset
    target: Status
    permission: Permission
    label: str  # the button
    past: str  # the audit trail and emails: "<person> <past> the plan"
    text_required: str = ""  # the name of the text that must be given, if any
    is_decision: bool = False


RULES = {
    Transition.SUBMIT: Rule(
        frozenset({Status.DRAFT, Status.CHANGES_REQUESTED}),
        Status.SUBMITTED,
        Permission.SUBMIT_PLAN,
        "Submit for approval",
        "submitted",
    ),
    Transition.APPROVE: Rule(
        frozenset({Status.SUBMITTED}),
        Status.APPROVED,
        Permission.DECIDE_PLAN,
        "Approve",
        "approved",
        is_decision=True,
    ),
    Transition.REQUEST_CHANGES: Rule(
        frozenset({Status.SUBMITTED}),
        Status.CHANGES_REQUESTED,
        Permission.DECIDE_PLAN,
        "Request changes",
        "requested changes to",
        text_required="a comment saying what should change",
        is_decision=True,
    ),
    Transition.REJECT: Rule(
        frozenset({Status.SUBMITTED}),
        Status.REJECTED,
        Permission.DECIDE_PLAN,
        "Reject",
        "rejected",
        text_required="a comment giving the reason for rejecting the plan",
        is_decision=True,
    ),
    Transition.START: Rule(
        frozenset({Status.APPROVED}),
        Status.ACTIVE,
        Permission.SUBMIT_PLAN,
        "Start delivery",
        "started delivering",
    ),
    Transition.COMPLETE: Rule(
        frozenset({Status.ACTIVE}),
        Status.COMPLETED,
        Permission.SUBMIT_PLAN,
        "Mark as completed",
        "completed",
        text_required="a closing summary",
    ),
    Transition.WITHDRAW: Rule(
        frozenset({Status.APPROVED, Status.ACTIVE}),
        Status.WITHDRAWN,
        Permission.SUBMIT_PLAN,
        "Withdraw",
        "withdrew",
        text_required="the reason for withdrawing the plan",
    ),
}

DECISIONS = frozenset(t for t, rule in RULES.items() if rule.is_decision)


class WorkflowError(Exception):
    """A transition that may not happen; the message is written for the person who tried."""


class NotPermitted(WorkflowError):
    pass


class WrongState(WorkflowError):
    pass


class SelfDecision(NotPermitted):
    pass


class TextRequired(WorkflowError):
    pass


def check(transition, *, status, permissions, actor_id, submitter_id=None, text=""):
    """Return the status the plan moves to, or raise a WorkflowError saying why not.

    `permissions`: the actor's permissions on the plan's PCN (a set of Permission);
    `submitter_id`: who submitted the version under decision (decisions only).
    """
    transition = Transition(transition)
    status = Status(status)
    rule = RULES[transition]
    if rule.permission not in permissions:
        raise NotPermitted(f"You may not {rule.label.lower()} this plan.")
    if status not in rule.sources:
        raise WrongState(f"A plan that is {status.label.lower()} cannot be given “{rule.label}”.")
    if rule.is_decision and submitter_id is not None and actor_id == submitter_id:
        raise SelfDecision("You submitted this version of the plan, so someone else must decide on it.")
    if rule.text_required and not (text or "").strip():
        raise TextRequired(f"Enter {rule.text_required}.")
    return rule.target


def allowed(transition, **kwargs):
    try:
        check(transition, **{"text": "x", **kwargs})
    except WorkflowError:
        return False
    return True


def available(*, status, permissions, actor_id, submitter_id=None):
    """The transitions this actor could make now (text requirements aside), in RULES order."""
    return [
        t
        for t in RULES
        if allowed(t, status=status, permissions=permissions, actor_id=actor_id, submitter_id=submitter_id)
    ]


def can_edit(*, status, permissions):
    return Permission.DRAFT_PLAN in permissions and Status(status) in EDITABLE


def can_record(*, status, permissions):
    return Permission.RECORD_MEASUREMENT in permissions and Status(status) in RECORDING
