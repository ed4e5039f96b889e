"""Writing the audit trail. Every action that changes state calls `record` inside its transaction.

The IP address comes from the request being served (set by `AuditContextMiddleware`), so actions
need not thread the request through; jobs run with no IP.
"""

import contextvars

from inequalities.models import AuditEvent

_current_ip = contextvars.ContextVar("audit_ip", default=None)


def client_ip(request):
    # Behind a proxy (gunicorn behind nginx), REMOTE_ADDR is the proxy; the proxy must be trusted
    # to set X-Forwarded-For. We take the right-most address the proxy appended.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current_ip.reset(token)


def _scope_codes(obj, pcn, icb):
    from inequalities.models import ICB, PCN

    if pcn is None and isinstance(obj, PCN):
        pcn = obj
    if icb is None and isinstance(obj, ICB):
        icb = obj
    if pcn is None and getattr(obj, "pcn_id", None):
        pcn = obj.pcn
    if icb is None and getattr(obj, "icb_id", None) and isinstance(getattr(obj, "icb", None), ICB):
        icb = obj.icb
    if icb is None and pcn is not None:
        icb = pcn.sub_icb.icb
    return (pcn.code if pcn else ""), (icb.code if icb else "")


def record(
    *,
    action,
    by=None,
    obj=None,
    before=None,
    after=None,
    pcn=None,
    icb=None,
    label=None,
):
    """Append one audit event. `by` None means the system (a scheduled job, a migration)."""
    pcn_code, icb_code = _scope_codes(obj, pcn, icb)
    actor = by if getattr(by, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=(actor.email or actor.get_username()) if actor else "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=(label or str(obj))[:300] if (obj is not None or label) else "",
        before=before,
        after=after,
        ip_address=_current_ip.get(),
        pcn_code=pcn_code,
        icb_code=icb_code,
    )
