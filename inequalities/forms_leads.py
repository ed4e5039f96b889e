"""Forms for HI leads, PLUS lists, target populations and priority-target returns."""

from django import forms
from django.utils import timezone

from inequalities.models import AgeGroup, ClinicalArea, HILeadNomination, LeadActivity, TargetPopulation
from inequalities.targets import CSV_COLUMNS, recent_quarters


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


DATE_INPUT = DateInput()


class NominateLeadForm(forms.Form):
    member = forms.ChoiceField(
        label="A member of the PCN",
        required=False,
        help_text="Choose someone already in the PCN, or give an email address below.",
    )
    email = forms.EmailField(
        label="Or their email address",
        required=False,
        help_text="Someone without an account gets an email inviting them to set a password.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role_type = forms.ChoiceField(
        label="Their role", choices=HILeadNomination.RoleType.choices, widget=forms.RadioSelect
    )
    job_title = forms.CharField(label="Job title (optional)", required=False, max_length=120)
    start_date = forms.DateField(label="Start date", widget=DATE_INPUT)
    note = forms.CharField(label="Note (optional)", required=False, widget=forms.Textarea)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(u.pk): u for u in members}
        self.fields["member"].choices = [("", "Choose a person")] + [
            (str(u.pk), f"{u.get_full_name() or u.email} ({u.email})") for u in members
        ]
        self.fields["start_date"].initial = timezone.localdate().isoformat()  # type=date needs ISO

    def clean(self):
        data = super().clean()
        if bool(data.get("member")) == bool(data.get("email")):
            self.add_error("member", "Choose a member of the PCN or give an email address (one of the two).")
        data["user"] = self.members.get(data.get("member") or "")
        return data


class LeadActivityForm(forms.Form):
    heading = forms.ChoiceField(
        label="Heading", choices=LeadActivity.Heading.choices, widget=forms.RadioSelect
    )
    date = forms.DateField(label="Date", widget=DATE_INPUT)
    title = forms.CharField(label="What you did", max_length=200)
    description = forms.CharField(label="Details (optional)", required=False, widget=forms.Textarea)


class PlusGroupForm(forms.Form):
    name = forms.CharField(label="Name", max_length=160)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)


class TargetPopulationForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=160, help_text="For example, Core20 adults with hypertension"
    )
    core20_scope = forms.ChoiceField(
        label="Core20", choices=TargetPopulation.Core20Scope.choices, widget=forms.RadioSelect
    )
    practices = forms.MultipleChoiceField(
        label="Practices (when Core20 of chosen practices)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    lsoa_codes = forms.CharField(
        label="LSOA codes (when Core20 in chosen neighbourhoods)",
        required=False,
        help_text="LSOA codes separated by commas or spaces, e.g. E01012345",
    )
    plus_group = forms.ChoiceField(label="PLUS group (optional)", required=False)
    clinical_area = forms.ModelChoiceField(label="Clinical area", queryset=ClinicalArea.objects.none())
    age_group = forms.ChoiceField(label="Age group", choices=AgeGroup.choices, widget=forms.RadioSelect)
    estimated_size = forms.IntegerField(
        label="Estimated size (for a PLUS group)",
        required=False,
        min_value=0,
        help_text="When the registers cannot give the size, enter your estimate and its source.",
    )
    estimate_source = forms.CharField(label="Source of the estimate", required=False, max_length=300)
    rationale = forms.CharField(label="Why this population", required=False, widget=forms.Textarea)
    data_sources = forms.CharField(label="Data sources used", required=False, widget=forms.Textarea)

    def __init__(self, *args, practices=(), plus_groups=(), footprint=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.practice_map = {p.code: p for p in practices}
        self.fields["practices"].choices = [(p.code, f"{p.display_name} ({p.code})") for p in practices]
        self.plus_map = {str(g.pk): g for g in plus_groups}
        self.fields["plus_group"].choices = [("", "None")] + [
            (
                str(g.pk),
                g.name + ("" if g.icb_id is None else " (this ICB)") + (" — retired" if g.retired_at else ""),
            )
            for g in plus_groups
        ]
        self.fields["clinical_area"].queryset = ClinicalArea.objects.filter(active=True)
        self.footprint = set(footprint)

    def clean(self):
        data = super().clean()
        scope = data.get("core20_scope")
        codes = sorted(
            {c.strip().upper() for c in (data.get("lsoa_codes") or "").replace(",", " ").split() if c}
        )
        data["lsoa_codes"] = codes
        data["practices"] = [self.practice_map[c] for c in data.get("practices") or []]
        data["plus_group"] = self.plus_map.get(data.get("plus_group") or "")
        if scope == TargetPopulation.Core20Scope.PRACTICES and not data["practices"]:
            self.add_error("practices", "Choose at least one practice.")
        if scope == TargetPopulation.Core20Scope.LSOAS:
            if not codes:
                self.add_error("lsoa_codes", "Give at least one LSOA code.")
            unknown = [c for c in codes if c not in self.footprint]
            if unknown:
                self.add_error(
                    "lsoa_codes",
                    f"Not where the PCN's patients live (current registrations): {', '.join(unknown[:10])}",
                )
        if scope == TargetPopulation.Core20Scope.NONE and data["plus_group"] is None:
            self.add_error("core20_scope", "Choose Core20, a PLUS group, or both.")
        if data["plus_group"] is not None and scope == TargetPopulation.Core20Scope.NONE:
            if data.get("estimated_size") is None:
                self.add_error("estimated_size", "Enter an estimated size for the PLUS group.")
            if not data.get("estimate_source"):
                self.add_error("estimate_source", "Say where the estimate comes from.")
        return data


def _quarter_choices():
    return recent_quarters(timezone.localdate(), 8)


class PriorityReturnForm(forms.Form):
    practice = forms.ChoiceField(label="Practice")
    quarter = forms.ChoiceField(label="Quarter")

    def __init__(self, *args, practices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.practice_map = {p.code: p for p in practices}
        self.fields["practice"].choices = [(p.code, f"{p.display_name} ({p.code})") for p in practices]
        self.quarters = {label: start for start, label in _quarter_choices()}
        self.fields["quarter"].choices = [(label, label) for label in self.quarters]
        for _column, field, label in CSV_COLUMNS:
            if field:
                self.fields[field] = forms.IntegerField(label=label, min_value=0)

    def clean(self):
        data = super().clean()
        data["practice"] = self.practice_map.get(data.get("practice"))
        data["quarter_start"] = self.quarters.get(data.get("quarter"))
        for num, den in [
            ("ld_health_checks", "ld_register_14_plus"),
            ("smi_health_checks", "smi_register"),
            ("ethnicity_recorded", "list_size"),
        ]:
            if data.get(num) is not None and data.get(den) is not None and data[num] > data[den]:
                self.add_error(
                    num, f"This cannot be more than {self.fields[den].label.lower()} ({data[den]})."
                )
        return data


class PriorityUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Use the template: one row per practice and quarter.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return f
