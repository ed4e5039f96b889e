import pytest
from django.http import Http404
from django.utils import timezone

from inequalities import policy
from inequalities.models import Membership, Role
from inequalities.policy import Permission
from tests.factories import UserFactory


def test_pcn_roles_cover_their_pcn_only(world):
    lead = world.users["hi_lead"]
    assert policy.has_permission(lead, Permission.VIEW_PCN, pcn=world.pcn)
    assert not policy.has_permission(lead, Permission.VIEW_PCN, pcn=world.sibling_pcn)
    assert not policy.has_permission(lead, Permission.VIEW_PCN, pcn=world.other_pcn)
    assert not policy.has_permission(lead, Permission.VIEW_ICB, icb=world.icb)
    assert set(policy.pcns_for(lead)) == {world.pcn}


def test_icb_roles_cover_every_pcn_in_their_icb_and_nothing_else(world):
    analyst = world.users["icb_analyst"]
    assert set(policy.pcns_for(analyst)) == {world.pcn, world.sibling_pcn}
    assert set(policy.icbs_for(analyst)) == {world.icb}
    assert not policy.has_permission(analyst, Permission.VIEW_PCN, pcn=world.other_pcn)
    assert not policy.has_permission(analyst, Permission.VIEW_ICB, icb=world.other_icb)


def test_only_commissioners_decide_and_only_analysts_import(world):
    u = world.users
    assert policy.has_permission(u["commissioner"], Permission.DECIDE_PLAN, pcn=world.pcn)
    assert not policy.has_permission(u["icb_analyst"], Permission.DECIDE_PLAN, pcn=world.pcn)
    assert not policy.has_permission(u["clinical_director"], Permission.DECIDE_PLAN, pcn=world.pcn)
    assert policy.has_permission(u["icb_analyst"], Permission.RUN_IMPORTS)
    assert not policy.has_permission(u["commissioner"], Permission.RUN_IMPORTS)
    assert not policy.has_permission(u["hi_lead"], Permission.RUN_IMPORTS)


def test_pcn_member_may_draft_but_not_submit(world):
    member = world.users["pcn_member"]
    assert policy.has_permission(member, Permission.DRAFT_PLAN, pcn=world.pcn)
    assert not policy.has_permission(member, Permission.SUBMIT_PLAN, pcn=world.pcn)
    assert policy.has_permission(world.users["hi_lead"], Permission.SUBMIT_PLAN, pcn=world.pcn)


def test_only_the_clinical_director_nominates_the_hi_lead(world):
    for role, allowed in [("clinical_director", True), ("hi_lead", False), ("icb_analyst", False)]:
        assert policy.has_permission(world.users[role], Permission.NOMINATE_HI_LEAD, pcn=world.pcn) is allowed


def test_administrator_may_do_everything(world):
    admin = world.users["administrator"]
    assert all(policy.has_permission(admin, p, pcn=world.other_pcn) for p in Permission)
    assert policy.pcns_for(admin).count() == 3


def test_ended_membership_grants_nothing(world):
    lead = world.users["hi_lead"]
    Membership.objects.filter(user=lead).update(ended_at=timezone.now())
    policy.forget(lead)
    assert not policy.has_permission(lead, Permission.VIEW_PCN, pcn=world.pcn)
    assert not policy.pcns_for(lead).exists()


def test_inactive_and_anonymous_users_have_no_permissions(world):
    from django.contrib.auth.models import AnonymousUser

    lead = world.users["hi_lead"]
    lead.is_active = False
    assert not policy.has_permission(lead, Permission.VIEW_PCN, pcn=world.pcn)
    assert not policy.has_permission(AnonymousUser(), Permission.VIEW_NATIONAL)


def test_get_pcn_or_404_hides_existence(world):
    with pytest.raises(Http404):
        policy.get_pcn_or_404(world.users["hi_lead"], world.other_pcn.code)
    with pytest.raises(Http404):
        policy.get_pcn_or_404(world.users["hi_lead"], "U00000")
    assert policy.get_pcn_or_404(world.users["hi_lead"], world.pcn.code) == world.pcn


def test_every_role_has_a_description_and_permissions():
    for role in Role:
        assert policy.ROLE_DESCRIPTIONS[role]
        assert Permission.VIEW_NATIONAL in policy.ROLE_PERMISSIONS[role]


def test_audit_events_visible_to_analysts_for_their_icb_only(world):
    from inequalities import audit

    mine = audit.record(action="test.mine", obj=world.pcn)
    theirs = audit.record(action="test.theirs", obj=world.other_pcn)
    seen = set(policy.audit_events_for(world.users["icb_analyst"]))
    assert mine in seen and theirs not in seen
    assert not policy.audit_events_for(world.users["commissioner"]).exists()
    assert {mine, theirs} <= set(policy.audit_events_for(world.users["administrator"]))
    assert not policy.audit_events_for(UserFactory()).exists()
