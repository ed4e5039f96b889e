"""URLs for HI leads, the Core20PLUS5 catalogue and PLUS lists, the population workspace, target
populations and priority targets. Included from pcn_portal/urls.py without a namespace."""

from django.urls import path

from inequalities.views import leads, targets, workspace

urlpatterns = [
    # HI leads
    path("pcns/<str:code>/hi-lead/", leads.hi_lead_detail, name="hi_lead_detail"),
    path("pcns/<str:code>/hi-lead/nominate/", leads.hi_lead_nominate, name="hi_lead_nominate"),
    path("pcns/<str:code>/hi-lead/end/", leads.hi_lead_end, name="hi_lead_end"),
    path("pcns/<str:code>/hi-lead/activity/", leads.lead_activity, name="lead_activity"),
    path("pcns/<str:code>/hi-lead/activity/new/", leads.lead_activity_add, name="lead_activity_add"),
    path("icbs/<str:code>/hi-leads/", leads.icb_lead_directory, name="icb_lead_directory"),
    path("icbs/<str:code>/hi-leads/compliance/", leads.icb_lead_compliance, name="icb_lead_compliance"),
    path("icbs/<str:code>/hi-leads/activity/", leads.icb_lead_activity, name="icb_lead_activity"),
    path("hi-leads/peers/", leads.peer_network, name="peer_network"),
    # Core20PLUS5 catalogue and PLUS lists
    path("core20plus5/", leads.core20plus5, name="core20plus5"),
    path("icbs/<str:code>/plus-groups/", leads.plus_list, name="plus_list"),
    path("icbs/<str:code>/plus-groups/new/", leads.plus_group_form, name="plus_group_add"),
    path("icbs/<str:code>/plus-groups/<int:group_id>/edit/", leads.plus_group_form, name="plus_group_edit"),
    path(
        "icbs/<str:code>/plus-groups/<int:group_id>/retire/",
        leads.plus_group_retire,
        name="plus_group_retire",
    ),
    # Population workspace and target populations
    path("pcns/<str:code>/workspace/", workspace.pcn_workspace, name="pcn_workspace"),
    path(
        "pcns/<str:code>/target-populations/", workspace.target_population_list, name="target_population_list"
    ),
    path(
        "pcns/<str:code>/target-populations/new/",
        workspace.target_population_form,
        name="target_population_add",
    ),
    path(
        "pcns/<str:code>/target-populations/<int:pk>/",
        workspace.target_population_detail,
        name="target_population_detail",
    ),
    path(
        "pcns/<str:code>/target-populations/<int:pk>/edit/",
        workspace.target_population_form,
        name="target_population_edit",
    ),
    # Priority targets
    path("pcns/<str:code>/priority-targets/", targets.priority_targets_pcn, name="priority_targets_pcn"),
    path(
        "pcns/<str:code>/priority-targets/enter/",
        targets.priority_targets_enter,
        name="priority_targets_enter",
    ),
    path(
        "pcns/<str:code>/priority-targets/upload/",
        targets.priority_targets_upload,
        name="priority_targets_upload",
    ),
    path(
        "pcns/<str:code>/priority-targets/template.csv",
        targets.priority_targets_template,
        name="priority_targets_template",
    ),
    path("icbs/<str:code>/priority-targets/", targets.priority_targets_icb, name="priority_targets_icb"),
]
