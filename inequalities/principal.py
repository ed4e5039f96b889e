"""The signed-in user as every request needs them, from the cache: the user row, their current
memberships (what `inequalities.policy` decides on) and whether they have an authenticator app
(what the MFA requirement checks).

Without this each signed-in page paid three queries before doing its own work. The entry is
rebuilt whenever the user, one of their memberships, one of their authenticators or any
organisation changes (`pcn_portal.versioned_cache`: the change bumps a version, so a revoked
membership stops counting on the next request, in every process), and when a membership's end
date passes.

The authentication backends (`inequalities.backends`) load users through `user()`, so
`request.user` arrives with its memberships attached; users loaded any other way (jobs, admin
lists) fall back to one query in `policy`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from pcn_portal import versioned_cache

ORGANISATIONS = "organisations"
TIMEOUT_SECONDS = 15 * 60


def namespace(user_id):
    return f"principal:{user_id}"


def _build(user_id):
    from allauth.mfa.models import Authenticator

    from inequalities.models import Membership

    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return None, None
    memberships = list(Membership.objects.current().filter(user=user).select_related("pcn__sub_icb"))
    user._policy_memberships = memberships
    user._has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ends = [m.ended_at for m in memberships if m.ended_at is not None]
    return user, min(ends) if ends else None


def user(user_id):
    """The user with their current memberships attached, or None if there is no such user."""
    key = f"principal:{user_id}"
    found, valid_until = versioned_cache.get_or_build(
        key, [namespace(user_id), ORGANISATIONS], lambda: _build(user_id), TIMEOUT_SECONDS
    )
    if valid_until is not None and timezone.now() >= valid_until:
        versioned_cache.bump(namespace(user_id))  # a membership has ended since
        found, _ = _build(user_id)
    return found


def forget(user_id):
    versioned_cache.bump(namespace(user_id))


def organisations_changed():
    """Imports that rewrite organisations in bulk (no model signals) call this after writing."""
    versioned_cache.bump(ORGANISATIONS)


# --- What invalidates an entry --------------------------------------------------------------------


def _user_changed(sender, instance, **kwargs):
    forget(instance.pk)


def _owned_changed(sender, instance, **kwargs):
    forget(instance.user_id)


def _organisation_changed(sender, instance, **kwargs):
    organisations_changed()


def connect():
    from allauth.mfa.models import Authenticator

    from inequalities.models import ICB, PCN, Membership, Region, SubICB

    user_model = get_user_model()
    for event, signal in (("saved", post_save), ("deleted", post_delete)):
        receiver(signal, sender=user_model, dispatch_uid=f"principal_user_{event}")(_user_changed)
        for model in (Membership, Authenticator):
            uid = f"principal_{model.__name__}_{event}"
            receiver(signal, sender=model, dispatch_uid=uid)(_owned_changed)
        for model in (PCN, SubICB, ICB, Region):
            uid = f"principal_org_{model.__name__}_{event}"
            receiver(signal, sender=model, dispatch_uid=uid)(_organisation_changed)
