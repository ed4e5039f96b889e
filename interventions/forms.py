from decimal import Decimal

from django import forms

from inequalities.models import ClinicalArea, TargetPopulation
from interventions.measurement_io import PeriodError, check_values, parse_period
from interventions.models import Measure
from interventions.models.measures import Direction, Frequency, MeasureKind
from interventions.models.plans import ARRS_ROLES, EquityRisk, InequalityType

DATE_HINT = "For example, 1 4 2025 is written 2025-04-01."


class VersionMixin(forms.Form):
    """Carries the plan version the page was rendered with (optimistic locking)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class DateInput(forms.DateInput):
    input_type = "date"


class Checkboxes(forms.CheckboxSelectMultiple):
    """Checkboxes whose field id is the first box's, so an error summary link lands on it."""

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


class NewPlanForm(forms.Form):
    title = forms.CharField(label="Plan title", max_length=200)
    target_population = forms.ModelChoiceField(
        label="Target population",
        queryset=TargetPopulation.objects.none(),
        empty_label="Choose a target population",
        help_text="One of the PCN's target populations. Add one in the population workspace if it is missing.",
    )

    def __init__(self, *args, pcn, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_population"].queryset = TargetPopulation.objects.filter(pcn=pcn).select_related(
            "clinical_area"
        )


class PopulationStepForm(VersionMixin):
    title = forms.CharField(label="Plan title", max_length=200)
    target_population = forms.ModelChoiceField(
        label="Target population",
        queryset=TargetPopulation.objects.none(),
        empty_label="Choose a target population",
    )
    clinical_area = forms.ModelChoiceField(
        label="Clinical area",
        queryset=ClinicalArea.objects.filter(active=True),
        empty_label="Choose a clinical area",
        help_text="Core20PLUS5: the adult and children and young people's clinical areas, and smoking cessation.",
    )

    def __init__(self, *args, pcn, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_population"].queryset = TargetPopulation.objects.filter(pcn=pcn)
        self.fields["target_population"].label_from_instance = lambda tp: (
            f"{tp.name} ({tp.size:,} people)" if tp.size is not None else tp.name
        )


class EvidenceStepForm(VersionMixin):
    evidence_profile = forms.CharField(
        label="The profile figures this rests on",
        widget=forms.Textarea,
        help_text="Quote the figures from the PCN's deprivation profile, with the IMD edition and the registration extract date.",
    )
    evidence_other_data = forms.CharField(
        label="Other data used (optional)",
        widget=forms.Textarea,
        required=False,
        help_text="For example, practice searches, public health data, Fingertips indicators.",
    )
    inequality_types = forms.MultipleChoiceField(
        label="Which inequality does the plan address?",
        choices=InequalityType.choices,
        widget=Checkboxes,
        help_text="Select all that apply.",
    )
    inequality_description = forms.CharField(label="Describe the inequality", widget=forms.Textarea)


class EngagementSummaryForm(VersionMixin):
    engagement_summary = forms.CharField(
        label="Overall, how engagement shaped the plan (optional)", widget=forms.Textarea, required=False
    )


class EngagementRecordForm(VersionMixin):
    who = forms.CharField(
        label="Who was engaged",
        widget=forms.Textarea,
        help_text="Groups, community members, community connectors.",
    )
    partners = forms.CharField(
        label="Partners involved (optional)",
        required=False,
        help_text="For example, VCSE organisations, the local authority, faith groups.",
    )
    method = forms.CharField(
        label="How", max_length=300, help_text="For example, a listening session, a survey."
    )
    held_on = forms.DateField(label="When", widget=DateInput, help_text=DATE_HINT)
    heard = forms.CharField(label="What was heard", widget=forms.Textarea)
    changed_plan = forms.CharField(label="How it changed the plan", widget=forms.Textarea)


class InterventionStepForm(VersionMixin):
    intervention_what = forms.CharField(label="What will be done", widget=forms.Textarea)
    intervention_by_whom = forms.CharField(label="By whom", widget=forms.Textarea)
    arrs_roles = forms.MultipleChoiceField(
        label="ARRS roles involved (optional)",
        choices=[(r, r) for r in ARRS_ROLES],
        widget=Checkboxes,
        required=False,
        help_text="Additional Roles Reimbursement Scheme roles that will deliver the intervention.",
    )
    partners = forms.CharField(label="Partners (optional)", widget=forms.Textarea, required=False)
    resources = forms.CharField(label="Resources (optional)", widget=forms.Textarea, required=False)
    start_date = forms.DateField(label="Start date", widget=DateInput, help_text=DATE_HINT)
    end_date = forms.DateField(label="End date", widget=DateInput, help_text=DATE_HINT)
    risks = forms.CharField(label="Risks", widget=forms.Textarea)
    equity_could_widen = forms.ChoiceField(
        label="Equity impact check: could the intervention widen any gap?",
        choices=EquityRisk.choices,
        widget=forms.RadioSelect,
    )
    equity_impact = forms.CharField(
        label="For whom, and what the plan does about it",
        widget=forms.Textarea,
        help_text="Think about age, sex, ethnicity, disability, language, digital access and working hours.",
    )

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", "The end date must be on or after the start date")
        return data


class OutcomesStepForm(VersionMixin):
    outcome = forms.CharField(label="The outcome the plan should achieve", widget=forms.Textarea)
    qi_approach = forms.CharField(
        label="Quality-improvement approach",
        widget=forms.Textarea,
        help_text="The PDSA (plan, do, study, act) cycles planned and who reviews them.",
    )
    pdsa_cycles = forms.IntegerField(
        label="Number of PDSA cycles planned (optional)", min_value=0, required=False
    )


STEP_FORMS = {
    "population": PopulationStepForm,
    "evidence": EvidenceStepForm,
    "engagement": EngagementSummaryForm,
    "intervention": InterventionStepForm,
    "outcomes": OutcomesStepForm,
}


class MeasureForm(VersionMixin):
    name = forms.CharField(label="Name of the measure", max_length=200)
    kind = forms.ChoiceField(label="Type", choices=MeasureKind.choices, widget=forms.RadioSelect)
    numerator_definition = forms.CharField(
        label="Numerator definition (for a numerator and denominator)", widget=forms.Textarea, required=False
    )
    denominator_definition = forms.CharField(
        label="Denominator definition (for a numerator and denominator)",
        widget=forms.Textarea,
        required=False,
    )
    unit = forms.CharField(
        label="Unit (for a single value)",
        max_length=40,
        required=False,
        help_text="For example, days or patients.",
    )
    direction = forms.ChoiceField(
        label="Direction of improvement", choices=Direction.choices, widget=forms.RadioSelect
    )
    baseline_value = forms.DecimalField(label="Baseline value", max_digits=14, decimal_places=4)
    baseline_period = forms.CharField(
        label="Baseline period", max_length=100, help_text="For example, the year to March 2025."
    )
    target_value = forms.DecimalField(label="Target", max_digits=14, decimal_places=4)
    target_date = forms.DateField(label="Target date", widget=DateInput, help_text=DATE_HINT)
    frequency = forms.ChoiceField(label="Frequency", choices=Frequency.choices, widget=forms.RadioSelect)
    data_source = forms.CharField(label="Data source", max_length=300)

    def clean(self):
        data = super().clean()
        if data.get("kind") == MeasureKind.PROPORTION:
            for name in ("numerator_definition", "denominator_definition"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, "Enter the definition for a numerator and denominator measure")
            for name in ("baseline_value", "target_value"):
                v = data.get(name)
                if v is not None and not (Decimal(0) <= v <= Decimal(100)):
                    self.add_error(name, "A percentage is between 0 and 100")
        elif data.get("kind") == MeasureKind.VALUE and not (data.get("unit") or "").strip():
            self.add_error("unit", "Enter the unit of a single-value measure")
        return data


class MeasurementForm(forms.Form):
    period = forms.CharField(label="Period", max_length=10)
    numerator = forms.IntegerField(label="Numerator", min_value=0, required=False)
    denominator = forms.IntegerField(label="Denominator", min_value=0, required=False)
    value = forms.DecimalField(label="Value", max_digits=14, decimal_places=4, required=False)

    def __init__(self, *args, measure: Measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        weekly = measure.frequency == Frequency.WEEKLY
        self.fields["period"].help_text = (
            "The Monday the week starts, as YYYY-MM-DD."
            if weekly
            else "The month, as YYYY-MM (for example 2025-04)."
        )
        if measure.is_proportion:
            self.fields["numerator"].help_text = measure.numerator_definition
            self.fields["denominator"].help_text = measure.denominator_definition
            del self.fields["value"]
        else:
            self.fields["value"].label = f"Value ({measure.unit})"
            del self.fields["numerator"]
            del self.fields["denominator"]

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"], self.measure.frequency)
        except PeriodError as exc:
            raise forms.ValidationError(f"The period {exc}") from None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = check_values(
            is_proportion=self.measure.is_proportion,
            numerator=data.get("numerator"),
            denominator=data.get("denominator"),
            value=data.get("value"),
        )
        for name, problem in problems.items():
            if name in self.fields:
                self.add_error(name, f"The {name} {problem}")
        return data


class MeasurementUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 CSV with a header row; see the layout above.")


class DecisionForm(VersionMixin):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            ("approve", "Approve the plan"),
            ("request_changes", "Request changes (the PCN revises and resubmits)"),
            ("reject", "Reject the plan"),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Comment",
        widget=forms.Textarea,
        required=False,
        help_text="Required when you request changes or reject the plan; the PCN's lead will see it.",
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") in {"request_changes", "reject"} and not (data.get("comment") or "").strip():
            self.add_error("comment", "Enter a comment saying why")
        return data


class TransitionForm(VersionMixin):
    text = forms.CharField(label="Comment", widget=forms.Textarea, required=False)


class RebaseForm(forms.Form):
    rebase_at = forms.CharField(
        label="Rebase the limits from (optional)",
        required=False,
        help_text="The first period after a change to the process, as YYYY-MM. Leave empty for one set of limits.",
    )

    def __init__(self, *args, measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure

    def clean_rebase_at(self):
        text = self.cleaned_data["rebase_at"].strip()
        if not text:
            return None
        try:
            return parse_period(text, self.measure.frequency)
        except PeriodError as exc:
            raise forms.ValidationError(f"The period {exc}") from None
