"""The permission matrix: every URL pattern in the project, for anonymous and each role.

URL patterns are enumerated from the resolver, so a new URL without an entry here fails
`test_every_url_pattern_has_a_matrix_entry`. Objects the user may not see answer 404.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from inequalities.models import ClinicalArea, HILeadNomination, Membership, PlusGroup, Role, TargetPopulation

ROLES = [
    "anonymous",
    "clinical_director",
    "hi_lead",
    "pcn_member",
    "icb_analyst",
    "commissioner",
    "administrator",
    "no_role",  # a PCN member elsewhere (another ICB)
]
SIGNED_IN = [r for r in ROLES if r != "anonymous"]
OWN_PCN = ["clinical_director", "hi_lead", "pcn_member", "icb_analyst", "commissioner", "administrator"]
LOGIN = "login"  # a redirect to the sign-in page


def statuses(default, **by_role):
    result = dict.fromkeys(ROLES, default)
    for role, status in by_role.items():
        result[role] = status
    return result


def only(allowed, status=200, *, otherwise=404):
    return {
        role: (LOGIN if role == "anonymous" else status if role in allowed else otherwise) for role in ROLES
    }


@dataclass
class Case:
    name: str
    expect: dict
    kwargs: object = field(default=lambda w: {})
    method: str = "get"
    label: str = ""

    @property
    def id(self):
        return f"{self.name}{'-' + self.label if self.label else ''}"


def _member_to_end(w):
    m = Membership.objects.get(user=w.users["pcn_member"], role=Role.PCN_MEMBER)
    return {"code": w.pcn.code, "membership_id": m.pk}


def _import_run(w):
    from inequalities.models import ImportRun

    run = ImportRun.objects.create(
        kind=ImportRun.Kind.IMD, source_name="imd.csv", status=ImportRun.Status.FAILED
    )
    return {"run_id": run.pk}


def _member_elsewhere(w):
    m = Membership.objects.get(user=w.users["no_role"])
    return {"code": w.other_pcn.code, "membership_id": m.pk}


CASES = [
    Case("home", statuses(200, anonymous=LOGIN)),
    Case("healthz", statuses(200)),
    Case("national", statuses(200, anonymous=LOGIN)),
    Case("region_detail", statuses(200, anonymous=LOGIN), lambda w: {"code": w.icb.region.code}),
    Case(
        "icb_detail", only({"icb_analyst", "commissioner", "administrator"}), lambda w: {"code": w.icb.code}
    ),
    Case("icb_detail", only({"administrator"}), lambda w: {"code": w.other_icb.code}, label="other-icb"),
    Case("pcn_detail", only(set(OWN_PCN)), lambda w: {"code": w.pcn.code}),
    Case(
        "pcn_detail",
        only({"icb_analyst", "commissioner", "administrator"}),
        lambda w: {"code": w.sibling_pcn.code},
        label="sibling-pcn",
    ),
    Case(
        "pcn_detail",
        only({"administrator", "no_role"}),
        lambda w: {"code": w.other_pcn.code},
        label="other-icb-pcn",
    ),
    Case("pcn_members", only({"clinical_director", "administrator"}), lambda w: {"code": w.pcn.code}),
    Case("pcn_members", only({"administrator"}), lambda w: {"code": w.other_pcn.code}, label="other-pcn"),
    Case(
        "end_pcn_membership", only({"clinical_director", "administrator"}, 302), _member_to_end, method="post"
    ),
    Case(
        "end_pcn_membership",
        only({"administrator"}, 302),
        _member_elsewhere,
        method="post",
        label="other-pcn",
    ),
    Case("audit", only({"icb_analyst", "administrator"})),
    # Data imports: national data, for people who may run imports (404 for everyone else).
    Case("imports:index", only({"icb_analyst", "administrator"})),
    Case("imports:detail", only({"icb_analyst", "administrator"}), _import_run),
    Case("imports:status", only({"icb_analyst", "administrator"}), _import_run),
    Case("imports:errors_csv", only({"icb_analyst", "administrator"}), _import_run),
    Case("imports:summary_csv", only({"icb_analyst", "administrator"}), _import_run),
    # Dashboards: national aggregates for everyone signed in; an ICB's overview for its ICB roles;
    # a PCN's dashboard (with its plans) for the PCN and its ICB.
    Case("dashboards:england", statuses(200, anonymous=LOGIN)),
    Case(
        "dashboards:icb",
        only({"icb_analyst", "commissioner", "administrator"}),
        lambda w: {"code": w.icb.code},
    ),
    Case("dashboards:icb", only({"administrator"}), lambda w: {"code": w.other_icb.code}, label="other-icb"),
    Case("dashboards:icb", only(set()), lambda w: {"code": "ZZZ"}, label="unknown"),
    Case("dashboards:pcn", only(set(OWN_PCN)), lambda w: {"code": w.pcn.code}),
    Case(
        "dashboards:pcn",
        only({"icb_analyst", "commissioner", "administrator"}),
        lambda w: {"code": w.sibling_pcn.code},
        label="sibling-pcn",
    ),
    Case(
        "dashboards:pcn",
        only({"administrator", "no_role"}),
        lambda w: {"code": w.other_pcn.code},
        label="other-icb-pcn",
    ),
    # django-allauth: sign-in pages are public; signed-in people are sent on.
    Case("account_login", statuses(302, anonymous=200)),
    Case("account_logout", statuses(200, anonymous=302)),
    Case("account_inactive", statuses(200)),
    Case("account_signup", statuses(302, anonymous=200)),
    Case("account_reauthenticate", statuses(200, anonymous=LOGIN)),
    Case("account_email", statuses(200, anonymous=LOGIN)),
    Case("account_email_verification_sent", statuses(200)),
    Case("account_change_password", statuses(200, anonymous=LOGIN)),
    Case("account_set_password", statuses(302, anonymous=LOGIN)),
    Case("account_reset_password", statuses(200)),
    Case("account_confirm_login_code", statuses(302)),
    Case("account_confirm_email", statuses(200), lambda w: {"key": "not-a-real-key"}),
    Case("account_reset_password_from_key_done", statuses(200)),
    Case(
        "account_reset_password_from_key", statuses(200), lambda w: {"uidb36": "zz", "key": "not-a-real-key"}
    ),
    Case("account_reset_password_done", statuses(200)),
    Case("mfa_index", statuses(200, anonymous=LOGIN)),
    Case("mfa_authenticate", statuses(302)),
    Case("mfa_reauthenticate", statuses(302, anonymous=LOGIN)),
    # Setting up TOTP first asks for the password again; without an authenticator the others 404.
    Case("mfa_activate_totp", statuses(302, anonymous=LOGIN)),
    Case("mfa_deactivate_totp", statuses(404, anonymous=LOGIN)),
    Case("mfa_view_recovery_codes", statuses(404, anonymous=LOGIN)),
    Case("mfa_generate_recovery_codes", statuses(302, anonymous=LOGIN)),
    Case("mfa_download_recovery_codes", statuses(404, anonymous=LOGIN)),
]


# --- Intervention plans (interventions.urls) --------------------------------------------------------

DRAFTERS = {"clinical_director", "hi_lead", "pcn_member", "administrator"}
LEADS = {"clinical_director", "hi_lead", "administrator"}
ICB_VIEWERS = {"icb_analyst", "commissioner", "administrator"}
ELSEWHERE = {"administrator", "no_role"}  # no_role is a member of the other ICB's PCN


def _plan(w, pcn=None, status="draft"):
    from interventions.models import InterventionPlan, PlanVersion
    from interventions.versions import current_snapshot
    from tests.factories.interventions import complete_plan

    plan = complete_plan(pcn or w.pcn)
    if status != "draft":
        PlanVersion.objects.create(
            plan=plan, number=1, snapshot=current_snapshot(plan), submitted_by=w.users["hi_lead"]
        )
        InterventionPlan.objects.filter(pk=plan.pk).update(status=status)
    return plan


def _plan_kwargs(status="draft", other=False, **extra):
    def build(w):
        plan = _plan(w, w.other_pcn if other else None, status)
        kwargs = {"pk": plan.pk}
        for key, value in extra.items():
            if value == "measure":
                kwargs[key] = plan.measures.get().pk
            elif value == "engagement":
                kwargs[key] = plan.engagement.get().pk
            else:
                kwargs[key] = value
        return kwargs

    return build


def _measure_kwargs(status="approved", other=False):
    return lambda w: {"measure_id": _plan(w, w.other_pcn if other else None, status).measures.get().pk}


def _plan_cases(name, own, elsewhere, kwargs, method="get", **kw):
    """The same URL on a plan of the user's PCN and on one of a PCN in the other ICB."""
    return [
        Case(f"interventions:{name}", own, kwargs(False), method=method, **kw),
        Case(f"interventions:{name}", elsewhere, kwargs(True), method=method, label="other-icb-pcn"),
    ]


CASES += [
    *_plan_cases(
        "pcn_plans",
        only(set(OWN_PCN)),
        only(ELSEWHERE),
        lambda other: lambda w: {"code": (w.other_pcn if other else w.pcn).code},
    ),
    *_plan_cases(
        "plan_create",
        only(DRAFTERS),
        only(ELSEWHERE),
        lambda other: lambda w: {"code": (w.other_pcn if other else w.pcn).code},
    ),
    *_plan_cases("plan_detail", only(set(OWN_PCN)), only(ELSEWHERE), lambda o: _plan_kwargs(other=o)),
    *_plan_cases("plan_print", only(set(OWN_PCN)), only(ELSEWHERE), lambda o: _plan_kwargs(other=o)),
    *_plan_cases("plan_measures_csv", only(set(OWN_PCN)), only(ELSEWHERE), lambda o: _plan_kwargs(other=o)),
    *_plan_cases(
        "plan_version",
        only(set(OWN_PCN)),
        only(ELSEWHERE),
        lambda o: _plan_kwargs("submitted", other=o, number=1),
    ),
    *_plan_cases(
        "plan_step", only(DRAFTERS), only(ELSEWHERE), lambda o: _plan_kwargs(other=o, step="evidence")
    ),
    *_plan_cases("measure_add", only(DRAFTERS), only(ELSEWHERE), lambda o: _plan_kwargs(other=o)),
    *_plan_cases(
        "measure_edit", only(DRAFTERS), only(ELSEWHERE), lambda o: _plan_kwargs(other=o, measure_id="measure")
    ),
    # Bare POSTs (no version): allowed people are sent back to the page with "the plan changed".
    *_plan_cases(
        "measure_remove",
        only(DRAFTERS, 302),
        only(ELSEWHERE, 302),
        lambda o: _plan_kwargs(other=o, measure_id="measure"),
        method="post",
    ),
    *_plan_cases(
        "engagement_remove",
        only(DRAFTERS, 302),
        only(ELSEWHERE, 302),
        lambda o: _plan_kwargs(other=o, record_id="engagement"),
        method="post",
    ),
    *_plan_cases(
        "plan_submit",
        only(LEADS, 302),
        only({"administrator"}, 302),
        lambda o: _plan_kwargs(other=o),
        method="post",
    ),
    *_plan_cases(
        "plan_decide",
        only({"commissioner", "administrator"}),
        only({"administrator"}),
        lambda o: _plan_kwargs("submitted", other=o),
    ),
    *_plan_cases(
        "plan_transition",
        only(LEADS),
        only({"administrator"}),
        lambda o: _plan_kwargs("approved", other=o, transition="start"),
    ),
    *_plan_cases("measure_detail", only(set(OWN_PCN)), only(ELSEWHERE), lambda o: _measure_kwargs(other=o)),
    *_plan_cases(
        "measurement_record", only(LEADS), only({"administrator"}), lambda o: _measure_kwargs(other=o)
    ),
    *_plan_cases(
        "measurement_upload", only(LEADS), only({"administrator"}), lambda o: _measure_kwargs(other=o)
    ),
    *_plan_cases(
        "measure_rebase",
        only(LEADS, 302),
        only({"administrator"}, 302),
        lambda o: _measure_kwargs(other=o),
        method="post",
    ),
    Case("interventions:queue", only({"commissioner", "administrator"})),
    Case("interventions:compare", only(ICB_VIEWERS), lambda w: {"code": w.icb.code}),
    Case(
        "interventions:compare",
        only({"administrator"}),
        lambda w: {"code": w.other_icb.code},
        label="other-icb",
    ),
]


def _with_lead(pcn_attr, user_role):
    def kwargs(w):
        pcn = getattr(w, pcn_attr)
        HILeadNomination.objects.create(
            pcn=pcn, user=w.users[user_role], role_type="clinical", start_date="2025-01-01"
        )
        return {"code": pcn.code}

    return kwargs


def _plus_group(icb_attr, *, national=False):
    def kwargs(w):
        icb = getattr(w, icb_attr)
        group = PlusGroup.objects.create(icb=None if national else icb, name=f"Group {icb_attr} {national}")
        return {"code": icb.code, "group_id": group.pk}

    return kwargs


def _population(pcn_attr, *, addressed_via=None):
    def kwargs(w):
        area, _ = ClinicalArea.objects.get_or_create(code="smi", defaults={"name": "SMI", "group": "adult"})
        tp = TargetPopulation.objects.create(pcn=getattr(w, pcn_attr), name="Core20 SMI", clinical_area=area)
        return {"code": getattr(w, addressed_via or pcn_attr).code, "pk": tp.pk}

    return kwargs


_ICB_PEOPLE = set(OWN_PCN)  # PCN roles of the ICB's PCNs and the ICB's own roles
_ICB_STAFF = {"icb_analyst", "commissioner", "administrator"}
_LEADS = {"clinical_director", "hi_lead", "administrator"}
_OWN = lambda w: {"code": w.pcn.code}  # noqa: E731
_OTHER = lambda w: {"code": w.other_pcn.code}  # noqa: E731
_ICB = lambda w: {"code": w.icb.code}  # noqa: E731
_OTHER_ICB = lambda w: {"code": w.other_icb.code}  # noqa: E731
_OTHER_PCN_VIEWERS = {"administrator", "no_role"}

LEAD_CASES = [
    Case("hi_lead_detail", only(set(OWN_PCN)), _OWN),
    Case("hi_lead_detail", only(_OTHER_PCN_VIEWERS), _OTHER, label="other-icb-pcn"),
    Case("hi_lead_nominate", only({"clinical_director", "administrator"}), _OWN),
    Case("hi_lead_nominate", only({"administrator"}), _OTHER, label="other-pcn"),
    Case(
        "hi_lead_end", only({"clinical_director", "administrator"}, 302), _with_lead("pcn", "hi_lead"), "post"
    ),
    Case(
        "hi_lead_end",
        only({"administrator"}, 302),
        _with_lead("other_pcn", "no_role"),
        "post",
        label="other-pcn",
    ),
    Case("hi_lead_end", only(set()), _OWN, "post", label="no-current-lead"),
    Case("lead_activity", only(set(OWN_PCN)), _OWN),
    Case("lead_activity", only(_OTHER_PCN_VIEWERS), _OTHER, label="other-icb-pcn"),
    Case("lead_activity_add", only(_LEADS), _OWN),
    Case("lead_activity_add", only({"administrator"}), _OTHER, label="other-pcn"),
    Case("icb_lead_directory", only(_ICB_PEOPLE), _ICB),
    Case("icb_lead_directory", only(_OTHER_PCN_VIEWERS), _OTHER_ICB, label="other-icb"),
    Case("icb_lead_compliance", only(_ICB_STAFF), _ICB),
    Case("icb_lead_compliance", only({"administrator"}), _OTHER_ICB, label="other-icb"),
    Case("icb_lead_activity", only(_ICB_STAFF), _ICB),
    Case("icb_lead_activity", only({"administrator"}), _OTHER_ICB, label="other-icb"),
    Case("peer_network", only(_LEADS)),
    Case("core20plus5", statuses(200, anonymous=LOGIN)),
    Case("plus_list", only(_ICB_PEOPLE), _ICB),
    Case("plus_list", only(_OTHER_PCN_VIEWERS), _OTHER_ICB, label="other-icb"),
    Case("plus_group_add", only({"icb_analyst", "administrator"}), _ICB),
    Case("plus_group_add", only({"administrator"}), _OTHER_ICB, label="other-icb"),
    Case("plus_group_edit", only({"icb_analyst", "administrator"}), _plus_group("icb")),
    Case("plus_group_edit", only({"administrator"}), _plus_group("other_icb"), label="other-icb"),
    Case("plus_group_edit", only(set()), _plus_group("icb", national=True), label="national"),
    Case("plus_group_retire", only({"icb_analyst", "administrator"}, 302), _plus_group("icb"), "post"),
    Case(
        "plus_group_retire", only({"administrator"}, 302), _plus_group("other_icb"), "post", label="other-icb"
    ),
    Case("pcn_workspace", only(set(OWN_PCN)), _OWN),
    Case("pcn_workspace", only(_OTHER_PCN_VIEWERS), _OTHER, label="other-icb-pcn"),
    Case("target_population_list", only(set(OWN_PCN)), _OWN),
    Case("target_population_list", only(_OTHER_PCN_VIEWERS), _OTHER, label="other-icb-pcn"),
    Case("target_population_add", only(_LEADS), _OWN),
    Case("target_population_add", only({"administrator"}), _OTHER, label="other-pcn"),
    Case("target_population_detail", only(set(OWN_PCN)), _population("pcn")),
    Case(
        "target_population_detail", only(_OTHER_PCN_VIEWERS), _population("other_pcn"), label="other-icb-pcn"
    ),
    Case(
        "target_population_detail",
        only(set()),
        _population("other_pcn", addressed_via="pcn"),
        label="wrong-pcn",
    ),
    Case("target_population_edit", only(_LEADS), _population("pcn")),
    Case("target_population_edit", only({"administrator"}), _population("other_pcn"), label="other-pcn"),
    Case("priority_targets_pcn", only(set(OWN_PCN)), _OWN),
    Case("priority_targets_pcn", only(_OTHER_PCN_VIEWERS), _OTHER, label="other-icb-pcn"),
    Case("priority_targets_enter", only(_LEADS), _OWN),
    Case("priority_targets_enter", only({"administrator"}), _OTHER, label="other-pcn"),
    Case("priority_targets_upload", only(_LEADS), _OWN),
    Case("priority_targets_upload", only({"administrator"}), _OTHER, label="other-pcn"),
    Case("priority_targets_template", only(_LEADS), _OWN),
    Case("priority_targets_template", only({"administrator"}), _OTHER, label="other-pcn"),
    Case("priority_targets_icb", only(_ICB_STAFF), _ICB),
    Case("priority_targets_icb", only({"administrator"}), _OTHER_ICB, label="other-icb"),
]
CASES += LEAD_CASES


def _walk(resolver, prefix="", namespace=None):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if (namespace and p.name) else p.name
            yield name, prefix + str(p.pattern)


def project_url_names():
    return sorted({name for name, _ in _walk(get_resolver()) if name})


def _login(client, world, role):
    if role != "anonymous":
        client.force_login(world.users[role])


def _assert_status(response, expected, role, case_id):
    if expected == LOGIN:
        assert response.status_code == 302, f"{case_id} as {role}: {response.status_code}"
        assert reverse("account_login") in response["Location"], response["Location"]
    else:
        assert response.status_code == expected, (
            f"{case_id} as {role}: {response.status_code}, wanted {expected}"
        )


def test_every_url_pattern_has_a_matrix_entry():
    covered = {case.name for case in CASES}
    missing = [n for n in project_url_names() if not n.startswith("admin:") and n not in covered]
    assert not missing, f"URL names without a permission-matrix entry: {missing}"
    unnamed = [route for name, route in _walk(get_resolver()) if not name and not route.startswith("admin/")]
    assert not unnamed, f"Unnamed URL patterns outside the admin: {unnamed}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission_matrix(client, world, case, role):
    _login(client, world, role)
    url = reverse(case.name, kwargs=case.kwargs(world))
    response = getattr(client, case.method)(url)
    _assert_status(response, case.expect[role], role, case.id)


# --- Django admin: one rule for all its URLs ----------------------------------------------------


def _admin_kwargs(name, world):
    """Arguments for an admin URL: an existing object of its model where it needs one; None for
    the catch-all and "view on site" shortcuts, which are not pages of their own."""
    pattern = dict(_walk(get_resolver()))[name]
    params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)
    kwargs = {}
    for converter_name, regex_name in params:
        param = converter_name or regex_name
        if param == "app_label":
            kwargs[param] = "inequalities"
        elif param in {"object_id", "id"}:
            model = _model_for(name.partition(":")[2])
            obj = model.objects.first() if model else None
            kwargs[param] = str(obj.pk) if obj else "0"
        else:
            return None
    return kwargs


def _model_for(url_name):
    for model in apps.get_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix):
            return model
    return None


@pytest.mark.parametrize("role", ROLES)
def test_admin_urls_are_for_administrators_only(client, world, role):
    _login(client, world, role)
    checked = 0
    for name in project_url_names():
        if not name.startswith("admin:") or name in {"admin:logout", "admin:login"}:
            continue
        kwargs = _admin_kwargs(name, world)
        if kwargs is None:
            continue
        response = client.get(reverse(name, kwargs=kwargs))
        checked += 1
        if role == "administrator":
            # The autocomplete endpoint refuses a request without its query parameters.
            # Audit events and import runs are read-only; memberships are ended, never deleted.
            read_only = name.endswith(
                (
                    "auditevent_add",
                    "auditevent_delete",
                    "importrun_add",
                    "importrun_delete",
                    "membership_delete",
                )
            )
            allowed = {200, 302, 403} if name == "admin:autocomplete" else {200, 302}
            if read_only:
                allowed = {403, 302}  # 302: the object to delete does not exist
            assert response.status_code in allowed, f"{name}: {response.status_code}"
            if name == "admin:index" or name.endswith("_changelist"):
                assert response.status_code == 200, f"{name}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{name} as {role}: {response.status_code}"
            logins = (
                ("/admin/login/", reverse("account_login")) if role == "anonymous" else ("/admin/login/",)
            )
            assert response["Location"].startswith(logins), f"{name} as {role}: {response['Location']}"
    assert checked > 30
