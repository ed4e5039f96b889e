"""What signed-in requests read from the cache (ADR 0010): versioned entries, the signed-in user
with their memberships, organisations by code, and the cached page shell. Each cached answer must
change the moment what it was built from changes — a revoked membership, a deactivated account, a
renamed PCN, a new email address — and a cached page must be the page a full render gives."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from inequalities import actions, principal
from inequalities.models import Membership, Role
from pcn_portal import shell, versioned_cache
from tests.dashboards.builders import load_deprivation

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


# --- versioned_cache ------------------------------------------------------------------------------


def test_an_entry_is_built_once_then_read_from_the_cache():
    builds = []

    def build():
        builds.append(1)
        return {"answer": len(builds)}

    assert versioned_cache.get_or_build("t:entry", ["t-ns"], build) == {"answer": 1}
    assert versioned_cache.get_or_build("t:entry", ["t-ns"], build) == {"answer": 1}
    assert len(builds) == 1


@pytest.mark.django_db
def test_bumping_a_namespace_rebuilds_only_its_entries():
    versioned_cache.get_or_build("t:a", ["t-a"], lambda: "a1")
    versioned_cache.get_or_build("t:b", ["t-b"], lambda: "b1")
    versioned_cache.bump("t-a")
    assert versioned_cache.get_or_build("t:a", ["t-a"], lambda: "a2") == "a2"
    assert versioned_cache.get_or_build("t:b", ["t-b"], lambda: "b2") == "b1"


@pytest.mark.django_db
def test_a_value_built_before_a_change_is_never_served_after_it():
    # A reader looks up the entry (a miss), reads the database, then a change commits before the
    # reader stores what it read: the stored value carries the versions the change replaced.
    value, versions = versioned_cache.get_entries({"t:race": ["t-race"]})["t:race"]
    assert value is versioned_cache.MISSING
    versioned_cache.bump("t-race")
    versioned_cache.put("t:race", versions, "read before the change")
    value, _ = versioned_cache.get_entries({"t:race": ["t-race"]})["t:race"]
    assert value is versioned_cache.MISSING


@pytest.mark.django_db
def test_a_change_bumps_again_when_its_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        versioned_cache.bump("t-commit")
        # Between the change and its commit a reader still sees the old rows and caches them.
        _, versions = versioned_cache.get_entries({"t:commit": ["t-commit"]})["t:commit"]
        versioned_cache.put("t:commit", versions, "read before the commit")
        assert (
            versioned_cache.get_entries({"t:commit": ["t-commit"]})["t:commit"][0] == "read before the commit"
        )
    value, _ = versioned_cache.get_entries({"t:commit": ["t-commit"]})["t:commit"]
    assert value is versioned_cache.MISSING


@pytest.mark.django_db
def test_a_large_value_is_read_from_the_cache_by_a_process_that_has_not_got_it():
    _, versions = versioned_cache.get_entries({"t:large": ["t-large"]})["t:large"]
    value = {"content": b"<p>" + b"x" * 50_000 + b"</p>"}
    versioned_cache.put("t:large", versions, value, large=True)
    assert versioned_cache.get_entries({"t:large": ["t-large"]})["t:large"][0] == value
    versioned_cache.local_blobs.clear()  # as in another gunicorn worker
    assert versioned_cache.get_entries({"t:large": ["t-large"]})["t:large"][0] == value
    versioned_cache.local_blobs.clear()
    cache.delete_many([k for k in _cache_keys() if k.startswith("blob:")])
    assert versioned_cache.get_entries({"t:large": ["t-large"]})["t:large"][0] is versioned_cache.MISSING


def _cache_keys():
    from django.conf import settings

    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        client = cache._cache.get_client(write=True)
        prefix = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{cache.version}:"
        return [k.decode().removeprefix(prefix) for k in client.scan_iter(match=prefix + "*")]
    return [k.split(":", 2)[2] for k in cache._cache]


@pytest.mark.django_db
def test_a_prefetch_answers_later_lookups_until_a_change():
    versioned_cache.get_or_build("t:pre", ["t-pre"], lambda: "first")
    with versioned_cache.prefetch({"t:pre": ["t-pre"]}):
        cache.delete("t:pre")  # the prefetch already holds it
        assert versioned_cache.get_or_build("t:pre", ["t-pre"], lambda: "rebuilt") == "first"
        versioned_cache.bump("t-pre")
        assert (
            versioned_cache.get_or_build("t:pre", ["t-pre"], lambda: "after the change") == "after the change"
        )


# --- The signed-in user ---------------------------------------------------------------------------


def _signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_ending_a_membership_takes_effect_on_the_next_request(world):
    member = world.users["pcn_member"]
    client = _signed_in(member)
    url = reverse("pcn_detail", args=[world.pcn.code])
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # now from the cache
    membership = Membership.objects.get(user=member, role=Role.PCN_MEMBER)
    actions.end_membership(membership=membership, by=world.users["clinical_director"])
    assert client.get(url).status_code == 404


def test_a_new_membership_counts_on_the_next_request(world):
    member = world.users["pcn_member"]
    client = _signed_in(member)
    url = reverse("pcn_detail", args=[world.sibling_pcn.code])
    assert client.get(url).status_code == 404
    Membership.objects.create(user=member, role=Role.PCN_MEMBER, pcn=world.sibling_pcn)
    assert client.get(url).status_code == 200


def test_a_membership_stops_counting_when_its_end_date_passes(world, monkeypatch):
    member = world.users["pcn_member"]
    membership = Membership.objects.get(user=member, role=Role.PCN_MEMBER)
    membership.ended_at = timezone.now() + timedelta(hours=1)
    membership.save()
    client = _signed_in(member)
    url = reverse("pcn_detail", args=[world.pcn.code])
    assert client.get(url).status_code == 200
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.get(url).status_code == 404


def test_a_deactivated_account_is_signed_out_on_the_next_request(world):
    member = world.users["pcn_member"]
    client = _signed_in(member)
    assert client.get(reverse("home")).status_code == 200
    member.is_active = False
    member.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_renamed_pcn_shows_its_new_name(world):
    client = _signed_in(world.users["pcn_member"])
    url = reverse("pcn_detail", args=[world.pcn.code])
    assert "Blackburn West PCN" in client.get(url).text
    world.pcn.name = "BLACKBURN NORTH PCN"
    world.pcn.save()
    assert "Blackburn North PCN" in client.get(url).text


def test_organisations_changed_by_an_import_are_read_again(world):
    client = _signed_in(world.users["pcn_member"])
    url = reverse("pcn_detail", args=[world.pcn.code])
    assert client.get(url).status_code == 200
    # Importers write in bulk (no model signals), then say so.
    type(world.pcn).objects.filter(pk=world.pcn.pk).update(name="BLACKBURN NORTH PCN")
    principal.organisations_changed()
    assert "Blackburn North PCN" in client.get(url).text


def test_a_warm_dashboard_request_makes_no_queries(world, django_assert_num_queries):
    load_deprivation()
    client = _signed_in(world.users["pcn_member"])
    url = reverse("dashboards:england")
    assert client.get(url).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


# --- The cached page shell ------------------------------------------------------------------------


@pytest.fixture
def dashboard(world):
    load_deprivation()
    return world


def test_a_page_from_the_cached_shell_is_the_page_a_full_render_gives(dashboard):
    user = dashboard.users["icb_analyst"]
    request = RequestFactory().get(reverse("dashboards:pcn", args=[dashboard.pcn.code]))
    request.user = principal.user(user.pk)
    request.session = {}
    request._messages = FallbackStorage(request)
    page = {
        "title": "Blackburn West PCN <dashboard> & more",
        "breadcrumbs_html": '<nav class="nhsuk-breadcrumb">crumbs</nav>',
        "content": "<h1>Figures</h1>",
    }
    full = render_to_string("dashboards/page.html", page, request=request)
    from_shell = shell.assemble(
        shell.render_parts(request, "dashboards/page.html"),
        title=page["title"],
        breadcrumbs_html=page["breadcrumbs_html"].encode(),
        content_html=page["content"].encode(),
    ).decode()
    assert CSRF_INPUT.sub("TOKEN", from_shell) == CSRF_INPUT.sub("TOKEN", full)
    assert "Blackburn West PCN &lt;dashboard&gt; &amp; more" in from_shell


def test_the_sign_out_form_of_a_cached_page_works(dashboard):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dashboard.users["pcn_member"])
    url = reverse("dashboards:england")
    client.get(url)
    cached = client.get(url).text  # the shell from the cache
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', cached).group(1)
    response = client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302  # signed out


def test_a_new_email_address_shows_in_the_header(dashboard):
    member = dashboard.users["pcn_member"]
    client = _signed_in(member)
    url = reverse("dashboards:england")
    client.get(url)
    member.email = "renamed@example.nhs.uk"
    member.save()
    assert "renamed@example.nhs.uk" in client.get(url).text


def test_a_new_role_shows_in_the_menu(dashboard):
    member = dashboard.users["pcn_member"]
    client = _signed_in(member)
    url = reverse("dashboards:england")
    assert "Plans awaiting decision" not in client.get(url).text
    Membership.objects.create(user=member, role=Role.COMMISSIONER, icb=dashboard.icb)
    assert "Plans awaiting decision" in client.get(url).text


def test_messages_are_shown_on_a_cached_page(dashboard):
    client = _signed_in(dashboard.users["pcn_member"])
    url = reverse("dashboards:england")
    client.get(url)
    client.get(url)
    # A message left by an earlier action for the next page (the messages cookie).
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Your plan was submitted")])
    assert "Your plan was submitted" in client.get(url).text
    assert "Your plan was submitted" not in client.get(url).text  # shown once
