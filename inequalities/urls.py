from django.urls import path

from inequalities.views import audit, health, members, organisations

urlpatterns = [
    path("", organisations.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("england/", organisations.national, name="national"),
    path("regions/<str:code>/", organisations.region_detail, name="region_detail"),
    path("icbs/<str:code>/", organisations.icb_detail, name="icb_detail"),
    path("pcns/<str:code>/", organisations.pcn_detail, name="pcn_detail"),
    path("pcns/<str:code>/members/", members.pcn_members, name="pcn_members"),
    path(
        "pcns/<str:code>/members/<int:membership_id>/end/",
        members.end_pcn_membership,
        name="end_pcn_membership",
    ),
    path("audit/", audit.audit_trail, name="audit"),
]
