from django.urls import path

from inequalities.views import imports

app_name = "imports"

urlpatterns = [
    path("", imports.index, name="index"),
    path("<int:run_id>/", imports.detail, name="detail"),
    path("<int:run_id>/status.json", imports.status, name="status"),
    path("<int:run_id>/errors.csv", imports.errors_csv, name="errors_csv"),
    path("<int:run_id>/summary.csv", imports.summary_csv, name="summary_csv"),
]
