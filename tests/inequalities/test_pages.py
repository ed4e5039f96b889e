import csv
import io

from django.urls import reverse

from inequalities.models import PracticePCNMembership
from tests.factories import practice_in


def test_pcn_page_shows_practices_and_the_hi_lead(client, world):
    practice_in(world.pcn, name="THE DENSHAM SURGERY")
    client.force_login(world.users["pcn_member"])
    html = client.get(reverse("pcn_detail", args=[world.pcn.code])).content.decode()
    assert "Blackburn West PCN" in html  # NHS title case
    assert "The Densham Surgery" in html
    assert "lead@example.nhs.uk" in html
    assert 'class="nhsuk-breadcrumb"' in html and 'href="#maincontent"' in html


def test_pcn_page_says_when_no_lead_is_nominated(client, world):
    client.force_login(world.users["icb_analyst"])
    html = client.get(reverse("pcn_detail", args=[world.sibling_pcn.code])).content.decode()
    assert "No lead nominated" in html


def test_practice_csv_matches_the_current_members(client, world):
    p = practice_in(world.pcn, name="SECOND PRACTICE")
    ended = practice_in(world.pcn, name="LEFT LAST YEAR")
    PracticePCNMembership.objects.filter(practice=ended).update(end_date="2020-01-01")
    client.force_login(world.users["hi_lead"])
    response = client.get(reverse("pcn_detail", args=[world.pcn.code]) + "?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    codes = {r["practice_code"] for r in rows}
    assert p.code in codes and ended.code not in codes
    assert len(rows) == 2


def test_icb_page_lists_its_pcns_with_lead_status_and_csv(client, world):
    client.force_login(world.users["commissioner"])
    html = client.get(reverse("icb_detail", args=[world.icb.code])).content.decode()
    assert "Blackburn West PCN" in html and "Darwen PCN" in html and "Stockton PCN" not in html
    assert "1 of 2" in html  # PCNs with a HI lead
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("icb_detail", args=[world.icb.code]) + "?format=csv").content.decode()
            )
        )
    )
    assert {r["pcn_code"]: r["hi_lead_email"] for r in rows} == {
        "U34816": "lead@example.nhs.uk",
        "U88348": "",
    }


def test_national_page_links_only_to_visible_icbs(client, world):
    client.force_login(world.users["icb_analyst"])
    html = client.get(reverse("national")).content.decode()
    assert reverse("icb_detail", args=["QE1"]) in html
    assert reverse("icb_detail", args=["QHM"]) not in html
    assert "Cumbria and North East" in html  # names and counts are public


def test_home_lists_my_memberships(client, world):
    client.force_login(world.users["hi_lead"])
    html = client.get(reverse("home")).content.decode()
    assert "Health inequalities lead" in html and reverse("pcn_detail", args=["U34816"]) in html


def test_healthz_needs_no_sign_in(client, db):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}


def test_list_pages_use_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    from tests.factories import PCNFactory

    client.force_login(world.users["icb_analyst"])
    for _ in range(5):
        practice_in(PCNFactory(sub_icb=world.pcn.sub_icb))
    with django_assert_max_num_queries(12):
        client.get(reverse("icb_detail", args=[world.icb.code]))
    with django_assert_max_num_queries(12):
        client.get(reverse("national"))
