"""The page around cached content — NHS header, menu, sign-out form, footer — cached per person,
browser and address.

Rendering `base.html` costs more than fetching a dashboard's cached content, so a page served from
cached content (`dashboards.views._page`) takes its shell from the cache too: the page's template
is rendered once with markers as its title, breadcrumbs and content, split at the markers, and
joined with the content on each request — the same HTML as rendering it in full (ADR 0010).

What the shell shows depends on who is looking and where, so that is its key: the user, a hash of
their CSRF secret (the sign-out form's token must match their browser's cookie) and the path (the
menu marks the current page). It is built from the user's principal version
(`inequalities.principal`, named by the caller): a change of email or memberships renders it
again. With messages
waiting to be shown, the page is rendered in full instead, as it is for a browser that has not got its CSRF cookie yet.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

TITLE = "<!--shell:title-->"
BREADCRUMBS = "<!--shell:breadcrumbs-->"
CONTENT = "<!--shell:content-->"
MARKERS = (TITLE, BREADCRUMBS, CONTENT)
TIMEOUT_SECONDS = 15 * 60


@functools.cache
def templates_release():
    """A hash of every template the project ships: part of the keys of cached HTML, so a
    deploy that changes a template never serves pages rendered by the previous one."""
    digest = hashlib.sha256()
    for directory in sorted(settings.TEMPLATES[0]["DIRS"]):
        for path in sorted(Path(directory).rglob("*.html")):
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def entry(request, template, namespaces):
    """The cache key of this request's shell with the namespaces it is built from (the caller
    names the user's: `inequalities.principal.namespace`), or None when the page has to be
    rendered in full (nobody signed in, no CSRF cookie yet, or messages waiting)."""
    user = request.user
    secret = request.META.get("CSRF_COOKIE")  # the browser's CSRF cookie, checked by the middleware
    if not user.is_authenticated or not secret or len(get_messages(request)):
        # Without the cookie the full render sets one (a first visit, or a client that keeps no
        # cookies — whose shells would never be read again).
        return None
    get_token(request)  # the sign-out form's token: the cookie is sent again, as a full render does
    key = f"{templates_release()}\0{template}\0{secret}\0{request.path}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"shell:{user.pk}:{digest}", list(namespaces)


def render_parts(request, template):
    """Render the page template with markers for `title`, `breadcrumbs_html` and `content`, and
    split it at the markers: four parts, as UTF-8 bytes."""
    markers = {"title": TITLE, "breadcrumbs_html": BREADCRUMBS, "content": CONTENT}
    # The markers are constants of this module, not user input.
    safe = {k: mark_safe(v) for k, v in markers.items()}  # noqa: S308
    html = render_to_string(template, safe, request=request)
    parts = []
    for marker in MARKERS:
        if html.count(marker) != 1:
            raise ValueError(f"{template} must contain {marker} exactly once")
        before, html = html.split(marker)
        parts.append(before.encode())
    parts.append(html.encode())
    return parts


def assemble(parts, *, title, breadcrumbs_html, content_html):
    """The page as UTF-8 bytes: the shell's parts around the escaped title and the given HTML
    (bytes, as cached: a dashboard is up to a few hundred kilobytes, and encoding it on every
    request would cost more than fetching it)."""
    return b"".join(
        (parts[0], escape(title).encode(), parts[1], breadcrumbs_html, parts[2], content_html, parts[3])
    )
