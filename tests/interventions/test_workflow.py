"""The plan state machine: every transition for every status and role (pure rules and through the
actions on the database), no self-approval, required comments, versions and their comparison,
optimistic locking (sequential stale decisions; real concurrent transactions on PostgreSQL),
audit and emails."""

import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction

from inequalities.models import AuditEvent, Membership, Role
from inequalities.policy import ROLE_PERMISSIONS, Permission
from interventions import actions, content, workflow
from interventions.models import InterventionPlan, PlanDecision, PlanVersion
from interventions.versions import current_snapshot
from interventions.workflow import Status, Transition
from tests.factories import UserFactory
from tests.factories.interventions import EngagementRecordFactory, complete_plan

PCN_LEADS = {"clinical_director", "hi_lead"}
DECIDERS = {"commissioner"}
# What the issue says, written out by hand (not derived from workflow.RULES).
EXPECTED = {
    Transition.SUBMIT: ({Status.DRAFT, Status.CHANGES_REQUESTED}, PCN_LEADS),
    Transition.APPROVE: ({Status.SUBMITTED}, DECIDERS),
    Transition.REQUEST_CHANGES: ({Status.SUBMITTED}, DECIDERS),
    Transition.REJECT: ({Status.SUBMITTED}, DECIDERS),
    Transition.START: ({Status.APPROVED}, PCN_LEADS),
    Transition.COMPLETE: ({Status.ACTIVE}, PCN_LEADS),
    Transition.WITHDRAW: ({Status.APPROVED, Status.ACTIVE}, PCN_LEADS),
}
ROLE_NAMES = ["clinical_director", "hi_lead", "pcn_member", "icb_analyst", "commissioner", "administrator"]


@pytest.mark.parametrize("role", ROLE_NAMES)
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("transition", list(Transition))
def test_transition_rules_for_every_status_and_role(transition, status, role):
    statuses, roles = EXPECTED[transition]
    permissions = ROLE_PERMISSIONS[Role(role)]
    expected = status in statuses and (role in roles or role == "administrator")
    assert (
        workflow.allowed(transition, status=status, permissions=permissions, actor_id=1, submitter_id=2)
        == expected
    )


def test_decisions_need_a_comment_except_approval():
    perms = {Permission.DECIDE_PLAN}
    for t in (Transition.REQUEST_CHANGES, Transition.REJECT):
        with pytest.raises(workflow.TextRequired):
            workflow.check(
                t, status=Status.SUBMITTED, permissions=perms, actor_id=1, submitter_id=2, text="  "
            )
    assert workflow.check(
        Transition.APPROVE, status=Status.SUBMITTED, permissions=perms, actor_id=1, submitter_id=2
    ) == (Status.APPROVED)


def test_nobody_decides_on_a_version_they_submitted_pure():
    with pytest.raises(workflow.SelfDecision):
        workflow.check(
            Transition.APPROVE,
            status=Status.SUBMITTED,
            permissions=set(Permission),
            actor_id=7,
            submitter_id=7,
        )


def test_editing_only_while_draft_or_changes_requested():
    perms = ROLE_PERMISSIONS[Role.PCN_MEMBER]
    editable = {s for s in Status if workflow.can_edit(status=s, permissions=perms)}
    assert editable == {Status.DRAFT, Status.CHANGES_REQUESTED}
    assert not workflow.can_edit(status=Status.DRAFT, permissions=ROLE_PERMISSIONS[Role.COMMISSIONER])


# --- Through the actions, on the database ---------------------------------------------------------


def _plan_in(world, status):
    """A complete plan of world.pcn in `status`, with a version submitted by the HI lead."""
    plan = complete_plan(world.pcn)
    if status != Status.DRAFT:
        PlanVersion.objects.create(
            plan=plan, number=1, snapshot=current_snapshot(plan), submitted_by=world.users["hi_lead"]
        )
    InterventionPlan.objects.filter(pk=plan.pk).update(status=status, version=5)
    plan.refresh_from_db()
    return plan


def _attempt(transition, plan, user):
    kwargs = {"plan": plan, "expected_version": plan.version, "by": user}
    if transition == Transition.SUBMIT:
        return actions.submit(**kwargs)
    if transition in workflow.DECISIONS:
        return actions.decide(decision=transition, comment="Please say more about engagement.", **kwargs)
    return actions.TRANSITION_ACTIONS[transition](text="Closing note", **kwargs)


@pytest.mark.parametrize("role", [*ROLE_NAMES, "no_role"])
@pytest.mark.parametrize("transition", list(Transition))
def test_each_transition_through_the_actions_for_every_role(
    world, transition, role, django_capture_on_commit_callbacks
):
    statuses, roles = EXPECTED[transition]
    source = sorted(statuses)[0]
    plan = _plan_in(world, source)
    user = world.users[role]
    may = role in roles or role == "administrator"
    if may:
        with django_capture_on_commit_callbacks(execute=True):
            _attempt(transition, plan, user)
        plan.refresh_from_db()
        assert plan.status == workflow.RULES[transition].target
        assert plan.version == 6
        event = AuditEvent.objects.get(action=f"plan.{transition.value}")
        assert event.actor == user and event.before == {"status": source.value}
        assert event.pcn_code == world.pcn.code and event.icb_code == world.icb.code
    else:
        with pytest.raises(workflow.NotPermitted):
            _attempt(transition, plan, user)
        plan.refresh_from_db()
        assert (plan.status, plan.version) == (source, 5)
        assert not AuditEvent.objects.filter(action__startswith="plan.").exists()


@pytest.mark.parametrize("transition", list(Transition))
def test_each_transition_is_refused_from_every_other_status(world, transition):
    statuses, _ = EXPECTED[transition]
    user = world.users["administrator"]
    for status in set(Status) - statuses:
        plan = _plan_in(world, status)
        with pytest.raises(workflow.WrongState):
            _attempt(transition, plan, user)
        plan.refresh_from_db()
        assert plan.status == status


def test_nobody_decides_on_a_plan_they_submitted(world):
    # One person who is both the PCN's HI lead and a commissioner of its ICB.
    both = world.users["hi_lead"]
    Membership.objects.create(user=both, role=Role.COMMISSIONER, icb=world.icb)
    plan = complete_plan(world.pcn)
    actions.submit(plan=plan, expected_version=plan.version, by=both)
    plan.refresh_from_db()
    with pytest.raises(workflow.SelfDecision):
        actions.decide(plan=plan, decision="approve", expected_version=plan.version, by=both)
    # Another commissioner may.
    actions.decide(
        plan=plan, decision="approve", expected_version=plan.version, by=world.users["commissioner"]
    )
    plan.refresh_from_db()
    assert plan.status == Status.APPROVED


def test_self_decision_checks_the_submitter_of_the_version_under_decision(world):
    lead, admin = world.users["hi_lead"], world.users["administrator"]
    plan = complete_plan(world.pcn)
    actions.submit(plan=plan, expected_version=plan.version, by=admin)
    plan.refresh_from_db()
    actions.decide(
        plan=plan,
        decision="request_changes",
        comment="More detail",
        expected_version=plan.version,
        by=world.users["commissioner"],
    )
    plan.refresh_from_db()
    # The administrator submitted version 1, but version 2 is submitted by the HI lead: the
    # administrator may now decide.
    actions.submit(plan=plan, expected_version=plan.version, by=lead)
    plan.refresh_from_db()
    actions.decide(plan=plan, decision="approve", expected_version=plan.version, by=admin)
    assert PlanDecision.objects.filter(plan=plan).count() == 2


def test_request_changes_and_reject_need_a_comment(world):
    plan = _plan_in(world, Status.SUBMITTED)
    for decision in ("request_changes", "reject"):
        with pytest.raises(workflow.TextRequired):
            actions.decide(
                plan=plan,
                decision=decision,
                comment=" ",
                expected_version=plan.version,
                by=world.users["commissioner"],
            )
    assert not PlanDecision.objects.exists()


def test_an_incomplete_plan_cannot_be_submitted(world):
    plan = actions.create_plan(pcn=world.pcn, title="Half a plan", by=world.users["hi_lead"])
    with pytest.raises(actions.IncompletePlan) as info:
        actions.submit(plan=plan, expected_version=plan.version, by=world.users["hi_lead"])
    assert set(info.value.gaps) == {"population", "evidence", "engagement", "intervention", "outcomes"}
    assert "At least one measure" in info.value.gaps["outcomes"]
    plan.refresh_from_db()
    assert plan.status == Status.DRAFT and not plan.versions.exists()


def test_a_submitted_plan_cannot_be_edited(world):
    plan = _plan_in(world, Status.SUBMITTED)
    with pytest.raises(workflow.WorkflowError):
        actions.update_plan(
            plan=plan, changes={"risks": "New"}, expected_version=plan.version, by=world.users["hi_lead"]
        )


def test_pcn_member_drafts_but_cannot_submit(world):
    member = world.users["pcn_member"]
    plan = complete_plan(world.pcn)
    actions.update_plan(
        plan=plan, changes={"risks": "Staff turnover"}, expected_version=plan.version, by=member
    )
    plan.refresh_from_db()
    with pytest.raises(workflow.NotPermitted):
        actions.submit(plan=plan, expected_version=plan.version, by=member)


def test_nobody_outside_the_pcn_edits_its_plan(world):
    plan = complete_plan(world.pcn)
    for role in ("icb_analyst", "commissioner", "no_role"):
        with pytest.raises(PermissionError):
            actions.update_plan(
                plan=plan, changes={"risks": "x"}, expected_version=plan.version, by=world.users[role]
            )


# --- Versions and the comparison -------------------------------------------------------------------


def test_each_submission_freezes_a_version_and_the_comparison_shows_what_changed(world):
    lead, commissioner = world.users["hi_lead"], world.users["commissioner"]
    plan = complete_plan(world.pcn)
    v1 = actions.submit(plan=plan, expected_version=plan.version, by=lead)
    assert v1.number == 1 and v1.snapshot["risks"] == "Venue availability"
    plan.refresh_from_db()
    actions.decide(
        plan=plan,
        decision="request_changes",
        comment="Say how you reach men",
        expected_version=plan.version,
        by=commissioner,
    )
    plan.refresh_from_db()
    plan = actions.update_plan(
        plan=plan,
        changes={"risks": "Venue availability; low uptake by men"},
        expected_version=plan.version,
        by=lead,
    )
    measure = plan.measures.get()
    actions.save_measure(
        plan=plan, measure=measure, data={"target_value": 80}, expected_version=plan.version, by=lead
    )
    plan.refresh_from_db()
    EngagementRecordFactory(plan=plan, who="Working men's club", method="Drop-in")
    v2 = actions.submit(plan=plan, expected_version=plan.version, by=lead)
    assert v2.number == 2
    v1.refresh_from_db()
    assert v1.snapshot["risks"] == "Venue availability"  # frozen

    comparison = content.compare(v1.snapshot, v2.snapshot)
    changes = {(c.section, c.item, c.label): (c.before, c.after, c.kind) for c in comparison.changes}
    assert changes[("Intervention", "", "Risks")] == (
        "Venue availability",
        "Venue availability; low uptake by men",
        "changed",
    )
    assert changes[
        ("Outcome and measurement", "Measure: Blood pressure recorded in the last 5 years", "Target")
    ][:2] == (
        "75",
        "80",
    )
    added = [c for c in comparison.changes if c.kind == "added"]
    assert (
        len(added) == 1 and added[0].item == "Engagement: Working men's club" and "Drop-in" in added[0].after
    )
    assert len(comparison.changes) == 3
    sections = [s for s, _ in comparison.by_section()]
    assert sections == ["Community engagement", "Intervention", "Outcome and measurement"]


def test_comparison_of_identical_snapshots_is_empty_and_of_nothing_lists_everything(world):
    snap = current_snapshot(complete_plan(world.pcn))
    assert not content.compare(snap, snap)
    first = content.compare(None, snap)
    assert any(c.label == "Plan title" for c in first.changes)


# --- Optimistic locking -----------------------------------------------------------------------------


def test_two_commissioners_stale_second_decision_is_refused_and_changes_nothing(world):
    first = world.users["commissioner"]
    second = UserFactory(username="second.commissioner@example.nhs.uk")
    Membership.objects.create(user=second, role=Role.COMMISSIONER, icb=world.icb)
    plan = _plan_in(world, Status.SUBMITTED)
    rendered_with = plan.version  # both pages were rendered with this version
    actions.decide(plan=plan, decision="approve", expected_version=rendered_with, by=first)
    with pytest.raises(actions.StalePlan):
        actions.decide(
            plan=plan, decision="reject", comment="Not enough", expected_version=rendered_with, by=second
        )
    plan.refresh_from_db()
    assert plan.status == Status.APPROVED
    assert list(PlanDecision.objects.values_list("decision", "decided_by")) == [("approve", first.pk)]
    assert AuditEvent.objects.filter(action__in=["plan.approve", "plan.reject"]).count() == 1


def test_stale_edit_is_refused(world):
    plan = complete_plan(world.pcn)
    v = plan.version
    actions.update_plan(plan=plan, changes={"risks": "A"}, expected_version=v, by=world.users["hi_lead"])
    with pytest.raises(actions.StalePlan):
        actions.update_plan(
            plan=plan, changes={"risks": "B"}, expected_version=v, by=world.users["clinical_director"]
        )
    plan.refresh_from_db()
    assert plan.risks == "A"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decisions_on_postgresql_one_wins(world):
    if connection.vendor != "postgresql":
        pytest.skip("real row locks need PostgreSQL (the sequential stale case covers SQLite)")
    second = UserFactory(username="second.commissioner@example.nhs.uk")
    Membership.objects.create(user=second, role=Role.COMMISSIONER, icb=world.icb)
    plan = _plan_in(world, Status.SUBMITTED)
    rendered_with = plan.version
    first_has_lock = threading.Event()
    outcome = {}

    def first_decides():
        try:
            with transaction.atomic():
                actions.decide(
                    plan=plan,
                    decision="approve",
                    expected_version=rendered_with,
                    by=world.users["commissioner"],
                )
                first_has_lock.set()
                time.sleep(0.8)  # hold the row lock while the second commissioner tries
            outcome["first"] = "ok"
        except Exception as exc:  # pragma: no cover - reported below
            outcome["first"] = exc
        finally:
            first_has_lock.set()
            connection.close()

    def second_decides():
        first_has_lock.wait(10)
        started = time.monotonic()
        try:
            actions.decide(
                plan=plan, decision="reject", comment="No", expected_version=rendered_with, by=second
            )
            outcome["second"] = "ok"
        except Exception as exc:
            outcome["second"] = exc
        finally:
            outcome["waited"] = time.monotonic() - started
            connection.close()

    threads = [threading.Thread(target=first_decides), threading.Thread(target=second_decides)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert outcome["first"] == "ok"
    assert isinstance(outcome["second"], actions.StalePlan)
    assert outcome["waited"] >= 0.5  # it really waited on the first transaction's row lock
    plan.refresh_from_db()
    assert plan.status == Status.APPROVED and PlanDecision.objects.count() == 1


# --- Emails ----------------------------------------------------------------------------------------


def test_submission_emails_the_icb_commissioners_after_commit(world, django_capture_on_commit_callbacks):
    plan = complete_plan(world.pcn)
    elsewhere = UserFactory(username="other.commissioner@example.nhs.uk")
    Membership.objects.create(user=elsewhere, role=Role.COMMISSIONER, icb=world.other_icb)
    with django_capture_on_commit_callbacks() as callbacks:
        actions.submit(plan=plan, expected_version=plan.version, by=world.users["hi_lead"])
    assert not mail.outbox  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["commissioner@example.nhs.uk"]]
    assert plan.title in mail.outbox[0].subject and f"/plans/{plan.pk}/" in mail.outbox[0].body


def test_decision_emails_the_submitter_and_pcn_leads_but_not_the_decider(
    world, django_capture_on_commit_callbacks
):
    plan = complete_plan(world.pcn)
    actions.submit(plan=plan, expected_version=plan.version, by=world.users["hi_lead"])
    plan.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.decide(
            plan=plan,
            decision="request_changes",
            comment="Add evening sessions",
            expected_version=plan.version,
            by=world.users["commissioner"],
        )
    assert sorted(m.to[0] for m in mail.outbox) == ["cd@example.nhs.uk", "lead@example.nhs.uk"]
    assert "Add evening sessions" in mail.outbox[0].body and "Changes requested" in mail.outbox[0].body


def test_a_refused_transition_sends_no_email(world, django_capture_on_commit_callbacks):
    plan = _plan_in(world, Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(workflow.TextRequired):
        actions.decide(
            plan=plan,
            decision="reject",
            comment="",
            expected_version=plan.version,
            by=world.users["commissioner"],
        )
    assert not mail.outbox
