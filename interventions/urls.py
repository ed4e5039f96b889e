from django.urls import path

from interventions.views import icb, measures, plans

app_name = "interventions"

urlpatterns = [
    path("queue/", icb.queue, name="queue"),
    path("icbs/<str:code>/compare/", icb.compare, name="compare"),
    path("pcns/<str:code>/", plans.pcn_plans, name="pcn_plans"),
    path("pcns/<str:code>/new/", plans.plan_create, name="plan_create"),
    path("<int:pk>/", plans.plan_detail, name="plan_detail"),
    path("<int:pk>/steps/<slug:step>/", plans.plan_step, name="plan_step"),
    path("<int:pk>/engagement/<int:record_id>/remove/", plans.engagement_remove, name="engagement_remove"),
    path("<int:pk>/measures/new/", plans.measure_edit, name="measure_add"),
    path("<int:pk>/measures/<int:measure_id>/edit/", plans.measure_edit, name="measure_edit"),
    path("<int:pk>/measures/<int:measure_id>/remove/", plans.measure_remove, name="measure_remove"),
    path("<int:pk>/measures.csv", measures.plan_measures_csv, name="plan_measures_csv"),
    path("<int:pk>/submit/", plans.plan_submit, name="plan_submit"),
    path("<int:pk>/decide/", plans.plan_decide, name="plan_decide"),
    path("<int:pk>/status/<slug:transition>/", plans.plan_transition, name="plan_transition"),
    path("<int:pk>/versions/<int:number>/", plans.plan_version, name="plan_version"),
    path("<int:pk>/print/", plans.plan_print, name="plan_print"),
    path("measures/<int:measure_id>/", measures.measure_detail, name="measure_detail"),
    path("measures/<int:measure_id>/record/", measures.measurement_record, name="measurement_record"),
    path("measures/<int:measure_id>/upload/", measures.measurement_upload, name="measurement_upload"),
    path("measures/<int:measure_id>/rebase/", measures.measure_rebase, name="measure_rebase"),
]
