from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.england, name="england"),
    path("icbs/<str:code>/", views.icb_overview, name="icb"),
    path("pcns/<str:code>/", views.pcn_dashboard, name="pcn"),
]
