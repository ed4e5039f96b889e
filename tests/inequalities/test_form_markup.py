"""The shared NHS.UK form markup (templates/includes/field.html and error_summary.html): every
error is in the summary with a link to its field, and is tied to the field for screen readers."""

import re

from django.urls import reverse


def test_form_markup_errors_linked_and_described(client, world):
    client.force_login(world.users["clinical_director"])
    response = client.post(reverse("pcn_members", args=[world.pcn.code]), {"email": "not an email"})
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('class="nhsuk-error-summary"')
    summary = html[start : html.index("</ul>", start)]
    assert re.search(r'<a href="#id_email">Enter a valid email address.</a>', summary)
    # A radio group's summary link goes to its first radio (a RadioSelect has no id_for_label).
    assert '<a href="#id_role_0">' in summary
    email_input = re.search(r'<input class="nhsuk-input nhsuk-input--error" id="id_email"[^>]*>', html)[0]
    assert 'aria-describedby="id_email-hint id_email-error"' in email_input
    assert '<span class="nhsuk-error-message" id="id_email-error">' in html
    assert re.search(r'<fieldset class="nhsuk-fieldset"[^>]*aria-describedby="[^"]*id_role-error"', html)
    assert 'id="id_role_0"' in html
    assert html.count('id="id_email-error"') == 1
