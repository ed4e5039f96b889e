from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "PCN Health Inequalities Portal administration"
admin.site.site_title = "PCN HI Portal admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("imports/", include("inequalities.urls_imports")),
    path("dashboards/", include("dashboards.urls")),
    path("plans/", include("interventions.urls")),
    path("", include("inequalities.urls")),
    path("", include("inequalities.urls_leads")),
]
