import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from inequalities import actions
from inequalities.models import AuditEvent, Membership, Role
from tests.factories import UserFactory


def test_grant_membership_is_audited_with_who_and_what(world):
    person = UserFactory()
    membership = actions.grant_membership(
        user=person, role=Role.PCN_MEMBER, pcn=world.pcn, by=world.users["clinical_director"]
    )
    event = AuditEvent.objects.get(action="membership.granted", object_id=str(membership.pk))
    assert event.actor == world.users["clinical_director"]
    assert event.after == {
        "user": person.email,
        "role": "pcn_member",
        "pcn": "U34816",
        "icb": None,
        "ended_at": None,
    }
    assert (event.pcn_code, event.icb_code) == ("U34816", "QE1")


def test_grant_membership_twice_changes_nothing(world):
    person = UserFactory()
    first = actions.grant_membership(user=person, role=Role.PCN_MEMBER, pcn=world.pcn, by=None)
    second = actions.grant_membership(user=person, role=Role.PCN_MEMBER, pcn=world.pcn, by=None)
    assert first == second
    assert AuditEvent.objects.filter(action="membership.granted", object_id=str(first.pk)).count() == 1


def test_clinical_director_cannot_grant_in_another_pcn_or_grant_icb_roles(world):
    cd = world.users["clinical_director"]
    with pytest.raises(PermissionError):
        actions.grant_membership(user=UserFactory(), role=Role.PCN_MEMBER, pcn=world.other_pcn, by=cd)
    with pytest.raises(ValidationError):
        actions.grant_membership(user=UserFactory(), role=Role.ICB_ANALYST, pcn=world.pcn, by=cd)
    with pytest.raises(PermissionError):
        actions.grant_membership(user=UserFactory(), role=Role.ICB_ANALYST, icb=world.icb, by=cd)


def test_hi_lead_cannot_grant_memberships(world):
    with pytest.raises(PermissionError):
        actions.grant_membership(
            user=UserFactory(), role=Role.PCN_MEMBER, pcn=world.pcn, by=world.users["hi_lead"]
        )


def test_end_membership_keeps_history_and_is_audited(world):
    m = Membership.objects.get(user=world.users["pcn_member"])
    actions.end_membership(membership=m, by=world.users["clinical_director"])
    m.refresh_from_db()
    assert m.ended_at is not None and not m.is_current
    event = AuditEvent.objects.get(action="membership.ended")
    assert event.before["ended_at"] is None and event.after["ended_at"] is not None


def test_clinical_director_adds_a_new_person_who_gets_a_set_password_email(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["clinical_director"])
    url = reverse("pcn_members", args=[world.pcn.code])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"email": "New.Person@Example.NHS.uk", "role": "pcn_member"}, follow=True)
    assert response.status_code == 200
    membership = Membership.objects.get(user__email="new.person@example.nhs.uk")
    assert membership.pcn == world.pcn and membership.granted_by == world.users["clinical_director"]
    assert [m.to for m in mail.outbox] == [["new.person@example.nhs.uk"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert not membership.user.has_usable_password()
    assert AuditEvent.objects.filter(action="user.created").exists()


def test_add_member_form_shows_errors_and_keeps_input(client, world):
    client.force_login(world.users["clinical_director"])
    response = client.post(
        reverse("pcn_members", args=[world.pcn.code]), {"email": "not-an-email", "role": "pcn_member"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_email"' in html
    assert 'value="not-an-email"' in html
