from django.urls import reverse

from inequalities import policy
from inequalities.policy import Permission


def portal(request):
    """Navigation for the NHS header: only what this user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        ("My organisations", reverse("home")),
        ("England", reverse("national")),
        ("Dashboards", reverse("dashboards:england")),
    ]
    if policy.has_permission(user, Permission.DECIDE_PLAN):
        items.append(("Plans awaiting decision", reverse("interventions:queue")))
    if policy.has_permission(user, Permission.VIEW_AUDIT):
        items.append(("Audit trail", reverse("audit")))
    if policy.has_permission(user, Permission.RUN_IMPORTS):
        items.append(("Data imports", reverse("imports:index")))
    return {"nav_items": [{"text": t, "href": h} for t, h in items]}
