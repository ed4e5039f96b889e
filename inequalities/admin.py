"""Django admin for administrators: users, organisations and memberships.

Every change made here is audited (`AuditedAdmin`); memberships go through `inequalities.actions`
so the admin obeys the same rules as the pages. The audit trail itself is read-only.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.forms.models import model_to_dict

from inequalities import actions, audit, policy
from inequalities.models import (
    ICB,
    PCN,
    AuditEvent,
    ImportRun,
    Membership,
    Practice,
    PracticePCNMembership,
    Region,
    SubICB,
)


def _summary(obj):
    data = model_to_dict(obj)
    return {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v)) for k, v in data.items()}


def _admin_site_has_permission(request):
    # The access policy, not Django's is_staff flag, decides who administers the portal.
    return policy.is_administrator(request.user)


admin.site.has_permission = _admin_site_has_permission


class AuditedAdmin(admin.ModelAdmin):
    def log_addition(self, request, obj, message):
        audit.record(
            action=f"admin.{obj._meta.model_name}.added", by=request.user, obj=obj, after=_summary(obj)
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit.record(
            action=f"admin.{obj._meta.model_name}.changed",
            by=request.user,
            obj=obj,
            after={"summary": _summary(obj), "change": str(message)[:1000]},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit.record(
                action=f"admin.{obj._meta.model_name}.deleted", by=request.user, obj=obj, before=_summary(obj)
            )
        return super().log_deletions(request, queryset)


class OrganisationAdmin(AuditedAdmin):
    list_display = ("code", "display_name", "ons_code", "opened_on", "closed_on")
    search_fields = ("code", "name", "ons_code")
    list_filter = ("closed_on",)
    raw_id_fields = ("successor",)


@admin.register(Region)
class RegionAdmin(OrganisationAdmin):
    pass


@admin.register(ICB)
class ICBAdmin(OrganisationAdmin):
    list_display = (*OrganisationAdmin.list_display, "region")
    list_select_related = ("region",)


@admin.register(SubICB)
class SubICBAdmin(OrganisationAdmin):
    list_display = (*OrganisationAdmin.list_display, "icb")
    list_select_related = ("icb",)
    raw_id_fields = ("successor", "icb")


@admin.register(PCN)
class PCNAdmin(OrganisationAdmin):
    list_display = (*OrganisationAdmin.list_display, "sub_icb")
    list_select_related = ("sub_icb",)
    raw_id_fields = ("successor", "sub_icb")


class PracticeMembershipInline(admin.TabularInline):
    model = PracticePCNMembership
    raw_id_fields = ("pcn",)
    extra = 0


@admin.register(Practice)
class PracticeAdmin(OrganisationAdmin):
    list_display = (*OrganisationAdmin.list_display, "postcode")
    raw_id_fields = ("successor", "sub_icb")
    inlines = [PracticeMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Memberships are granted and ended through `inequalities.actions` (audited there)."""

    list_display = ("user", "role", "pcn", "icb", "granted_by", "granted_at", "ended_at")
    list_filter = ("role",)
    search_fields = ("user__email", "pcn__code", "pcn__name", "icb__code", "icb__name")
    raw_id_fields = ("user", "pcn", "icb")
    readonly_fields = ("granted_by", "granted_at", "ended_at")
    actions = ["end_selected"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        granted = actions.grant_membership(
            user=obj.user, role=obj.role, pcn=obj.pcn, icb=obj.icb, by=request.user
        )
        obj.pk = granted.pk
        obj.granted_by = granted.granted_by
        obj.granted_at = granted.granted_at

    def log_addition(self, request, obj, message):
        return super().log_addition(request, obj, message)  # audited by actions.grant_membership

    @admin.action(description="End the selected memberships")
    def end_selected(self, request, queryset):
        for membership in queryset:
            actions.end_membership(membership=membership, by=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_label", "icb_code", "pcn_code", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_label", "action", "object_label", "icb_code", "pcn_code")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "source_name", "status", "rows_read", "rows_accepted", "created_by")
    list_filter = ("kind", "status")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(Group)
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ("email", "first_name", "last_name", "is_active", "is_superuser", "last_login")
