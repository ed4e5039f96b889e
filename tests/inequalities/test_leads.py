import csv
import datetime
import io
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from inequalities import actions, actions_leads, catalogue
from inequalities.models import (
    AuditEvent,
    ClinicalArea,
    HILeadNomination,
    LeadActivity,
    Membership,
    PlusGroup,
    Role,
    TargetPopulation,
)
from tests.factories import PCNFactory, SubICBFactory, UserFactory, user_with_role

TODAY = timezone.localdate()


_CD = object()


def nominate(world, user, *, by=_CD, start=None, **kw):
    return actions_leads.nominate_hi_lead(
        pcn=kw.pop("pcn", world.pcn),
        by=world.users["clinical_director"] if by is _CD else by,
        user=user,
        role_type=kw.pop("role_type", "clinical"),
        start_date=start or TODAY,
        **kw,
    )


def _csv(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- Nomination rules ----------------------------------------------------------------------------------


def test_nomination_by_clinical_director_grants_the_hi_lead_membership_and_is_audited(world):
    member = world.users["pcn_member"]
    nomination = nominate(world, member, job_title="Practice nurse", note="Agreed at the board")
    assert nomination.is_current and nomination.nominated_by == world.users["clinical_director"]
    assert Membership.objects.current().filter(user=member, pcn=world.pcn, role=Role.HI_LEAD).exists()
    event = AuditEvent.objects.get(action="hi_lead.nominated")
    assert event.after["user"] == member.email and (event.pcn_code, event.icb_code) == ("U34816", "QE1")


@pytest.mark.parametrize("role", ["hi_lead", "pcn_member", "icb_analyst", "commissioner", "no_role"])
def test_nomination_by_anyone_but_clinical_director_or_administrator_is_refused(world, role):
    with pytest.raises(PermissionError):
        nominate(world, world.users["pcn_member"], by=world.users[role])
    assert not HILeadNomination.objects.exists()


def test_nomination_by_another_pcns_clinical_director_is_refused(world):
    other_cd = user_with_role(Role.CLINICAL_DIRECTOR, pcn=world.sibling_pcn)
    with pytest.raises(PermissionError):
        nominate(world, world.users["pcn_member"], by=other_cd)


def test_nomination_by_administrator_is_allowed(world):
    nomination = nominate(world, world.users["pcn_member"], by=world.users["administrator"])
    assert nomination.nominated_by == world.users["administrator"]


def test_nomination_page_refuses_a_hi_lead_with_404(client, world):
    client.force_login(world.users["hi_lead"])
    url = reverse("hi_lead_nominate", args=[world.pcn.code])
    response = client.post(
        url, {"member": world.users["pcn_member"].pk, "role_type": "clinical", "start_date": TODAY}
    )
    assert response.status_code == 404
    assert not HILeadNomination.objects.exists()


def test_new_nomination_ends_the_previous_term_and_keeps_history(world):
    first_lead, second_lead = world.users["hi_lead"], world.users["pcn_member"]
    first = nominate(world, first_lead, start=TODAY - datetime.timedelta(days=100))
    second = nominate(world, second_lead, role_type="non_clinical")
    first.refresh_from_db()
    assert first.end_date == second.start_date == TODAY and not first.is_current
    assert list(HILeadNomination.objects.current().filter(pcn=world.pcn)) == [second]
    assert HILeadNomination.objects.filter(pcn=world.pcn).count() == 2
    assert not Membership.objects.current().filter(user=first_lead, role=Role.HI_LEAD).exists()
    assert Membership.objects.filter(user=first_lead, role=Role.HI_LEAD, ended_at__isnull=False).exists()
    assert AuditEvent.objects.filter(action="hi_lead.term_ended", object_id=str(first.pk)).exists()


def test_one_current_lead_per_pcn_is_enforced_by_the_database(world):
    HILeadNomination.objects.create(
        pcn=world.pcn, user=world.users["hi_lead"], role_type="clinical", start_date=TODAY
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        HILeadNomination.objects.create(
            pcn=world.pcn, user=world.users["pcn_member"], role_type="clinical", start_date=TODAY
        )


def test_nominating_the_current_lead_again_or_backdating_before_them_is_refused(world):
    nominate(world, world.users["hi_lead"], start=TODAY - datetime.timedelta(days=10))
    with pytest.raises(ValidationError, match="already the HI lead"):
        nominate(world, world.users["hi_lead"])
    with pytest.raises(ValidationError, match="before the current lead"):
        nominate(world, world.users["pcn_member"], start=TODAY - datetime.timedelta(days=20))
    with pytest.raises(ValidationError, match="future"):
        nominate(world, world.users["pcn_member"], start=TODAY + datetime.timedelta(days=1))
    assert HILeadNomination.objects.count() == 1


def test_ending_a_term_without_a_successor_leaves_no_lead(client, world):
    nominate(world, world.users["pcn_member"])
    client.force_login(world.users["clinical_director"])
    response = client.post(reverse("hi_lead_end", args=[world.pcn.code]))
    assert response.status_code == 302
    assert not HILeadNomination.objects.current().exists()
    assert not Membership.objects.current().filter(user=world.users["pcn_member"], role=Role.HI_LEAD).exists()


def test_clinical_director_may_grant_hi_lead_membership_only_through_the_nomination_permission(world):
    person = UserFactory()
    actions.grant_membership(
        user=person, role=Role.HI_LEAD, pcn=world.pcn, by=world.users["clinical_director"]
    )
    with pytest.raises(PermissionError):
        actions.grant_membership(
            user=UserFactory(), role=Role.HI_LEAD, pcn=world.sibling_pcn, by=world.users["clinical_director"]
        )
    with pytest.raises(PermissionError):
        actions.grant_membership(
            user=UserFactory(), role=Role.HI_LEAD, pcn=world.pcn, by=world.users["hi_lead"]
        )


def test_invited_nominee_sets_a_password_and_is_already_the_hi_lead(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["clinical_director"])
    url = reverse("hi_lead_nominate", args=[world.pcn.code])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "email": "New.Lead@Example.NHS.uk",
                "role_type": "non_clinical",
                "start_date": TODAY.isoformat(),
            },
            follow=True,
        )
    assert response.status_code == 200
    nomination = HILeadNomination.objects.get()
    assert nomination.user.email == "new.lead@example.nhs.uk"
    assert nomination.invitation_email == "new.lead@example.nhs.uk" and nomination.invitation_pending
    assert (
        Membership.objects.current().filter(user=nomination.user, role=Role.HI_LEAD, pcn=world.pcn).exists()
    )
    assert [m.to for m in mail.outbox] == [["new.lead@example.nhs.uk"]]
    assert "Invitation sent" in client.get(reverse("hi_lead_detail", args=[world.pcn.code])).content.decode()

    # The invitation: allauth's set-password link. Following it and choosing a password signs them up.
    client.logout()
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+", mail.outbox[0].body).group(0)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    password = "A-long-new-password-2026"
    response = client.post(form_url, {"password1": password, "password2": password})
    assert response.status_code == 302, response.content.decode()[:500]
    nomination.user.refresh_from_db()
    assert nomination.user.has_usable_password() and not nomination.invitation_pending
    assert client.login(username=nomination.user.username, password=password)
    assert client.get(reverse("lead_activity_add", args=[world.pcn.code])).status_code == 200


def test_nominating_by_email_someone_with_an_account_sends_no_invitation(
    world, django_capture_on_commit_callbacks
):
    existing = UserFactory(username="someone@example.nhs.uk")
    with django_capture_on_commit_callbacks(execute=True):
        nomination = actions_leads.nominate_hi_lead(
            pcn=world.pcn,
            by=world.users["clinical_director"],
            email="SOMEONE@example.nhs.uk",
            role_type="clinical",
            start_date=TODAY,
        )
    assert nomination.user == existing and nomination.invitation_email == ""
    assert mail.outbox == []


def test_nomination_form_needs_one_of_member_or_email(client, world):
    client.force_login(world.users["clinical_director"])
    response = client.post(
        reverse("hi_lead_nominate", args=[world.pcn.code]),
        {"role_type": "clinical", "start_date": TODAY.isoformat()},
    )
    assert response.status_code == 200
    assert "Choose a member of the PCN or give an email address" in response.content.decode()
    assert not HILeadNomination.objects.exists()


# --- Directory, compliance and peers ----------------------------------------------------------------------


@pytest.fixture
def leads(world):
    """Current leads: world.pcn (QE1) and world.other_pcn (QHM, another region); an ended lead on the
    sibling PCN; a lead in a third ICB of the same region as QE1."""
    ours = nominate(world, world.users["hi_lead"], start=TODAY - datetime.timedelta(days=30))
    theirs = nominate(world, world.users["no_role"], pcn=world.other_pcn, by=world.users["administrator"])
    ended = nominate(world, UserFactory(username="ended@example.nhs.uk"), pcn=world.sibling_pcn, by=None)
    actions_leads.end_hi_lead_term(nomination=ended, by=None)
    neighbour_pcn = PCNFactory(
        code="U55555", name="NEIGHBOUR PCN", sub_icb=SubICBFactory(code="01A", icb__region=world.icb.region)
    )
    neighbour = nominate(world, UserFactory(username="neighbour@example.nhs.uk"), pcn=neighbour_pcn, by=None)
    return {"ours": ours, "theirs": theirs, "ended": ended, "neighbour": neighbour}


def test_directory_lists_current_leads_of_the_icb_only(client, world, leads):
    client.force_login(world.users["pcn_member"])
    url = reverse("icb_lead_directory", args=[world.icb.code])
    html = client.get(url).content.decode()
    assert "lead@example.nhs.uk" in html
    assert "elsewhere@example.nhs.uk" not in html and "ended@example.nhs.uk" not in html
    assert "neighbour@example.nhs.uk" not in html
    rows = _csv(client.get(url + "?format=csv"))
    assert [(r["pcn_code"], r["email"], r["role"]) for r in rows] == [
        ("U34816", "lead@example.nhs.uk", "Clinical")
    ]


def test_directory_of_another_icb_is_404(client, world, leads):
    client.force_login(world.users["pcn_member"])
    assert client.get(reverse("icb_lead_directory", args=[world.other_icb.code])).status_code == 404


def test_compliance_view_counts_every_pcn_with_days_since_nomination(client, world, leads):
    client.force_login(world.users["commissioner"])
    url = reverse("icb_lead_compliance", args=[world.icb.code])
    html = client.get(url).content.decode()
    assert "1 of 2" in html and "No lead nominated" in html
    assert "elsewhere@example.nhs.uk" not in html
    rows = {r["pcn_code"]: r for r in _csv(client.get(url + "?format=csv"))}
    assert set(rows) == {world.pcn.code, world.sibling_pcn.code}
    assert rows[world.pcn.code]["days_since_nomination"] == "30"
    assert rows[world.sibling_pcn.code]["status"] == "no lead nominated"


def test_compliance_view_is_not_for_pcn_roles(client, world):
    client.force_login(world.users["clinical_director"])
    assert client.get(reverse("icb_lead_compliance", args=[world.icb.code])).status_code == 404


def test_peer_network_shows_icb_and_region_leads_with_focus_areas(client, world, leads):
    catalogue.seed(ClinicalArea, PlusGroup)
    TargetPopulation.objects.create(
        pcn=leads["neighbour"].pcn, name="Core20 SMI", clinical_area=ClinicalArea.objects.get(code="smi")
    )
    client.force_login(world.users["clinical_director"])
    response = client.get(reverse("peer_network"))
    html = response.content.decode()
    assert "lead@example.nhs.uk" in html  # in the ICB
    assert "neighbour@example.nhs.uk" in html and "Severe mental illness (SMI)" in html  # in the region
    assert "elsewhere@example.nhs.uk" not in html  # another region
    assert [r["lead"] for r in response.context["in_region"]] == [leads["neighbour"]]
    filtered = client.get(reverse("peer_network") + "?area=Maternity")
    assert not filtered.context["in_region"] and not filtered.context["in_icb"]


# --- Activity log --------------------------------------------------------------------------------------------


def test_lead_records_activity_visible_to_the_icb_and_not_elsewhere(client, world):
    client.force_login(world.users["hi_lead"])
    response = client.post(
        reverse("lead_activity_add", args=[world.pcn.code]),
        {
            "heading": "priority_targets",
            "date": TODAY.isoformat(),
            "title": "LD health check drive",
            "description": "",
        },
    )
    assert response.status_code == 302
    activity = LeadActivity.objects.get()
    assert activity.get_heading_display() == "Championing the priority targets"
    assert AuditEvent.objects.filter(action="hi_lead.activity_recorded").exists()
    client.force_login(world.users["icb_analyst"])
    assert (
        "LD health check drive"
        in client.get(reverse("icb_lead_activity", args=[world.icb.code])).content.decode()
    )
    assert (
        "LD health check drive"
        in client.get(reverse("lead_activity", args=[world.pcn.code])).content.decode()
    )
    client.force_login(world.users["no_role"])
    assert client.get(reverse("lead_activity", args=[world.pcn.code])).status_code == 404


def test_activity_in_the_future_is_refused(client, world):
    client.force_login(world.users["hi_lead"])
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        reverse("lead_activity_add", args=[world.pcn.code]),
        {"heading": "tnhi", "date": tomorrow, "title": "Planned", "description": ""},
    )
    assert response.status_code == 200 and "future" in response.content.decode()
    assert not LeadActivity.objects.exists()


def test_pcn_member_cannot_record_activity(world):
    with pytest.raises(PermissionError):
        actions_leads.record_lead_activity(
            pcn=world.pcn, heading="tnhi", date=TODAY, title="x", by=world.users["pcn_member"]
        )


# --- Core20PLUS5 catalogue and PLUS lists ---------------------------------------------------------------------


def test_catalogue_seed_has_eleven_clinical_areas_and_the_national_plus_list_and_is_idempotent(db):
    catalogue.seed(ClinicalArea, PlusGroup)
    catalogue.seed(ClinicalArea, PlusGroup)
    groups = dict(ClinicalArea.objects.values_list("code", "group"))
    assert len(groups) == 11
    assert (
        sum(1 for g in groups.values() if g == "adult") == 5
        and sum(1 for g in groups.values() if g == "cyp") == 5
    )
    assert groups["smoking"] == "cross_cutting"
    assert all(a.national_ambition and a.description for a in ClinicalArea.objects.all())
    assert PlusGroup.objects.filter(icb=None).count() == len(catalogue.NATIONAL_PLUS_GROUPS) == 10
    assert PlusGroup.objects.filter(name="Gypsy, Roma and Traveller communities", icb=None).exists()


def test_icb_analyst_adds_edits_and_retires_the_icbs_plus_groups(client, world):
    client.force_login(world.users["icb_analyst"])
    response = client.post(
        reverse("plus_group_add", args=[world.icb.code]), {"name": "Armed forces veterans", "description": ""}
    )
    assert response.status_code == 302
    group = PlusGroup.objects.get(icb=world.icb)
    client.post(
        reverse("plus_group_edit", args=[world.icb.code, group.pk]),
        {"name": "Armed forces veterans and families", "description": "Added 2026"},
    )
    group.refresh_from_db()
    assert group.name == "Armed forces veterans and families"
    client.post(reverse("plus_group_retire", args=[world.icb.code, group.pk]))
    group.refresh_from_db()
    assert group.retired_at is not None
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="plus_group").order_by("pk")] == [
        "plus_group.added",
        "plus_group.edited",
        "plus_group.retired",
    ]


@pytest.mark.parametrize("role", ["commissioner", "clinical_director", "hi_lead"])
def test_only_the_icbs_analysts_may_change_its_plus_list(world, role):
    with pytest.raises(PermissionError):
        actions_leads.add_plus_group(icb=world.icb, name="Veterans", by=world.users[role])


def test_analyst_of_another_icb_cannot_touch_this_icbs_plus_groups(client, world):
    group = actions_leads.add_plus_group(icb=world.icb, name="Veterans", by=world.users["icb_analyst"])
    outsider = user_with_role(Role.ICB_ANALYST, icb=world.other_icb)
    with pytest.raises(PermissionError):
        actions_leads.edit_plus_group(group=group, name="Changed", description="", by=outsider)
    with pytest.raises(PermissionError):
        actions_leads.retire_plus_group(group=group, by=outsider)
    client.force_login(outsider)
    assert client.post(reverse("plus_group_retire", args=[world.icb.code, group.pk])).status_code == 404
    # Through their own ICB's URL the group is not theirs either.
    assert client.post(reverse("plus_group_retire", args=[world.other_icb.code, group.pk])).status_code == 404
    group.refresh_from_db()
    assert group.name == "Veterans" and group.retired_at is None


def test_national_starter_list_cannot_be_edited_by_an_icb(world):
    catalogue.seed(ClinicalArea, PlusGroup)
    national = PlusGroup.objects.get(name="Carers")
    with pytest.raises(PermissionError):
        actions_leads.retire_plus_group(group=national, by=world.users["icb_analyst"])
    with pytest.raises(ValidationError):
        actions_leads.add_plus_group(icb=world.icb, name="carers", by=world.users["icb_analyst"])


def test_everyone_in_the_icb_sees_national_and_icb_groups_but_not_other_icbs(client, world):
    catalogue.seed(ClinicalArea, PlusGroup)
    actions_leads.add_plus_group(icb=world.icb, name="Veterans", by=None)
    actions_leads.add_plus_group(icb=world.other_icb, name="Fishing communities", by=None)
    client.force_login(world.users["pcn_member"])
    rows = _csv(client.get(reverse("plus_list", args=[world.icb.code]) + "?format=csv"))
    names = {r["name"] for r in rows}
    assert "Veterans" in names and "Carers" in names and "Fishing communities" not in names
    assert client.get(reverse("plus_list", args=[world.other_icb.code])).status_code == 404


def test_a_retired_group_stays_on_the_population_that_uses_it(client, world):
    catalogue.seed(ClinicalArea, PlusGroup)
    group = actions_leads.add_plus_group(icb=world.icb, name="Veterans", by=None)
    population = TargetPopulation.objects.create(
        pcn=world.pcn,
        name="Veterans with SMI",
        core20_scope="none",
        plus_group=group,
        clinical_area=ClinicalArea.objects.get(code="smi"),
        estimated_size=40,
        estimate_source="Practice search",
    )
    actions_leads.retire_plus_group(group=group, by=world.users["icb_analyst"])
    population.refresh_from_db()
    assert population.plus_group == group
    client.force_login(world.users["hi_lead"])
    html = client.get(
        reverse("target_population_detail", args=[world.pcn.code, population.pk])
    ).content.decode()
    assert "Veterans" in html and "Retired" in html
    form_html = client.get(reverse("target_population_add", args=[world.pcn.code])).content.decode()
    assert "Veterans" not in form_html  # no longer offered for new populations


def test_demo_hi_leads_are_nominated_once(world):
    from inequalities import demo

    PCNFactory(code="U31823", name="BURNLEY EAST PCN", sub_icb=world.pcn.sub_icb)
    demo.create_demo_users()
    demo.create_demo_users()
    current = dict(HILeadNomination.objects.current().values_list("pcn__code", "user__email"))
    assert current == {
        "U34816": "lead.blackburnwest@example.nhs.uk",
        "U31823": "lead.burnleyeast@example.nhs.uk",
        "U89141": "lead.stockton@example.nhs.uk",
    }


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_icb_lead_pages_do_not_query_per_pcn(client, world):
    client.force_login(world.users["icb_analyst"])
    urls = [
        reverse("icb_lead_compliance", args=[world.icb.code]),
        reverse("icb_lead_directory", args=[world.icb.code]),
        reverse("priority_targets_icb", args=[world.icb.code]),
    ]
    nominate(world, world.users["hi_lead"])
    before = [_queries(client, url) for url in urls]
    for n in range(5):
        pcn = PCNFactory(sub_icb=world.pcn.sub_icb)
        nominate(world, UserFactory(), pcn=pcn, by=None)
        LeadActivity.objects.create(pcn=pcn, heading="tnhi", date=TODAY, title=f"Activity {n}")
    assert [_queries(client, url) for url in urls] == before
