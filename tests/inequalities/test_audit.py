import pytest
from django.urls import reverse

from inequalities import audit
from inequalities.models import AppendOnlyError, AuditEvent


def test_audit_events_cannot_be_changed_or_deleted(world):
    event = audit.record(action="test.event", obj=world.pcn, after={"x": 1})
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_audit_records_the_client_ip_of_the_request(client, world):
    client.force_login(world.users["clinical_director"])
    client.post(
        reverse("pcn_members", args=[world.pcn.code]),
        {"email": "someone@example.nhs.uk", "role": "pcn_member"},
        REMOTE_ADDR="10.1.2.3",
    )
    event = AuditEvent.objects.get(action="membership.granted")
    assert event.ip_address == "10.1.2.3"
    assert event.actor_label == "cd@example.nhs.uk"


def test_audit_page_lists_and_exports_the_icb_trail(client, world):
    audit.record(action="test.mine", obj=world.pcn, label="mine")
    audit.record(action="test.theirs", obj=world.other_pcn, label="theirs")
    client.force_login(world.users["icb_analyst"])
    html = client.get(reverse("audit")).content.decode()
    assert "test.mine" in html and "test.theirs" not in html
    csv_text = client.get(reverse("audit") + "?format=csv").content.decode()
    assert csv_text.splitlines()[0].startswith("at,actor,action")
    assert "test.mine" in csv_text and "test.theirs" not in csv_text


def test_admin_changes_are_audited(client, world):
    client.force_login(world.users["administrator"])
    response = client.post(
        reverse("admin:inequalities_region_change", args=[world.icb.region.pk]),
        {
            "code": "Y62",
            "name": "NORTH WEST RENAMED",
            "ons_code": "E40000010",
            "opened_on": "",
            "closed_on": "",
            "successor": "",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.region.changed")
    assert event.actor == world.users["administrator"]
    assert event.after["summary"]["name"] == "NORTH WEST RENAMED"
