from django import forms

from inequalities.models import Role


class AddPCNMemberForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        help_text="If they have no account yet, they will get an email to set a password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[
            (Role.PCN_MEMBER.value, Role.PCN_MEMBER.label),
            (Role.CLINICAL_DIRECTOR.value, Role.CLINICAL_DIRECTOR.label),
        ],
        initial=Role.PCN_MEMBER.value,
        widget=forms.RadioSelect,
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label="Action contains", required=False)
    actor = forms.CharField(label="Person (email contains)", required=False)
    icb = forms.CharField(label="ICB code", required=False, max_length=12)
