"""The upload form of the data imports page."""

from django import forms
from django.conf import settings

from inequalities.models import ImportRun

KIND_HINTS = {
    ImportRun.Kind.IMD: "IoD2019 or IoD2025 File 1 or File 7, CSV or the published XLSX.",
    ImportRun.Kind.REGISTRATIONS: "gp-reg-pat-prac-lsoa-all.csv, plain or inside the published zip.",
    ImportRun.Kind.PRACTICE_MAP: "gp-reg-pat-prac-map.csv (current or pre-July-2022 layout).",
    ImportRun.Kind.EPCN: "ODS ePCN core partner details or PCN details, CSV or XLSX.",
    ImportRun.Kind.LSOA_LOOKUP: "ONS LSOA 2011 to 2021 lookup (LSOA11CD, LSOA21CD, CHGIND).",
}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="What does the file contain?",
        choices=[(k.value, f"{k.label} – {KIND_HINTS[k]}") for k in ImportRun.Kind],
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label="File",
        # An empty file is still recorded as a run and rejected with its reason.
        allow_empty_file=True,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_mb = settings.IMPORT_MAX_BYTES // (1024 * 1024)
        self.fields["file"].help_text = (
            f"CSV, XLSX or ZIP exactly as published, up to {limit_mb:,} MB. "
            "The whole file is checked before anything is changed."
        )
