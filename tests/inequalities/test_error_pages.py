"""The NHS.UK "Page not found" and service-problem pages."""

from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error


def test_error_page_not_found_for_signed_in_user(client, world):
    client.force_login(world.users["hi_lead"])
    response = client.get(reverse("pcn_detail", args=[world.other_pcn.code]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "<title>Page not found – PCN Health Inequalities Portal</title>" in html
    assert "<h1>Page not found</h1>" in html
    assert world.other_pcn.display_name not in html
    assert 'class="nhsuk-header"' in html


def test_error_page_server_error_renders_without_request_context(db):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html
    assert "Sign out" not in html
