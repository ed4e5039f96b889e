"""Plan pages: a PCN's plans, drafting step by step, submission, the commissioner's decision with
the version comparison, status changes, versions and the printable plan.

Thin views: they ask the access policy (through `interventions.access`) and call
`interventions.actions`; a plan the user may not see answers 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from inequalities import policy
from inequalities.exports import csv_response
from inequalities.policy import Permission
from interventions import actions, content, workflow
from interventions.access import get_plan_or_404
from interventions.forms import (
    STEP_FORMS,
    DecisionForm,
    EngagementRecordForm,
    MeasureForm,
    NewPlanForm,
    TransitionForm,
)
from interventions.models import InterventionPlan, Measure, PlanDecision
from interventions.versions import current_snapshot, last_decided_version, latest_version, number_text
from interventions.workflow import Status, Transition, WorkflowError


def _crumbs(user, pcn, *extra):
    crumbs = [("Home", reverse("home"))]
    icb = pcn.sub_icb.icb
    if policy.has_permission(user, Permission.VIEW_ICB, icb=icb):
        crumbs.append((icb.display_name, reverse("icb_detail", args=[icb.code])))
    crumbs.append((pcn.display_name, reverse("pcn_detail", args=[pcn.code])))
    crumbs.append(("Plans", reverse("interventions:pcn_plans", args=[pcn.code])))
    return crumbs + list(extra)


def _plan_crumbs(user, plan):
    return _crumbs(user, plan.pcn, (plan.title, reverse("interventions:plan_detail", args=[plan.pk])))


def _to_detail(plan):
    return redirect("interventions:plan_detail", pk=plan.pk)


def _initial(obj, names):
    out = {}
    for name in names:
        value = getattr(obj, name)
        if hasattr(value, "_meta"):
            value = value.pk
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif (
            value is not None
            and not isinstance(value, (str, int, list, bool))
            and hasattr(value, "normalize")
        ):
            value = number_text(value)
        out[name] = value
    return out


# --- A PCN's plans -------------------------------------------------------------------------------


def pcn_plans(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    plans = (
        InterventionPlan.objects.filter(pcn=pcn)
        .select_related("target_population", "clinical_area")
        .annotate(measure_count=Count("measures", distinct=True))
        .order_by("-updated_at", "-id")
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{pcn.code}-plans.csv",
            [
                "plan_id",
                "title",
                "status",
                "target_population",
                "clinical_area",
                "measures",
                "submitted_at",
                "updated_at",
            ],
            (
                [
                    p.pk,
                    p.title,
                    p.status_enum.label,
                    p.target_population.name if p.target_population else "",
                    p.clinical_area.name if p.clinical_area else "",
                    p.measure_count,
                    p.submitted_at.isoformat() if p.submitted_at else "",
                    p.updated_at.isoformat(),
                ]
                for p in plans
            ),
        )
    return render(
        request,
        "interventions/pcn_plans.html",
        {
            "pcn": pcn,
            "plans": plans,
            "can_draft": policy.has_permission(request.user, Permission.DRAFT_PLAN, pcn=pcn),
            "breadcrumbs": _crumbs(request.user, pcn)[:-1],
        },
    )


def plan_create(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.DRAFT_PLAN)
    form = NewPlanForm(request.POST or None, pcn=pcn)
    if request.method == "POST" and form.is_valid():
        plan = actions.create_plan(
            pcn=pcn,
            title=form.cleaned_data["title"],
            target_population=form.cleaned_data["target_population"],
            by=request.user,
        )
        messages.success(
            request, "The plan has been started. Work through the steps in any order; each saves as you go."
        )
        return _to_detail(plan)
    return render(
        request,
        "interventions/plan_create.html",
        {"pcn": pcn, "form": form, "breadcrumbs": _crumbs(request.user, pcn)},
    )


# --- One plan ------------------------------------------------------------------------------------


def plan_detail(request, pk):
    plan = get_plan_or_404(request.user, pk)
    perms = actions.permissions_on(request.user, plan.pcn)
    version = latest_version(plan)
    snapshot = current_snapshot(plan)
    transitions = workflow.available(
        status=plan.status,
        permissions=perms,
        actor_id=request.user.pk,
        submitter_id=version.submitted_by_id if version else None,
    )
    decisions = list(PlanDecision.objects.filter(plan=plan).select_related("decided_by", "plan_version"))
    versions = list(plan.versions.select_related("submitted_by").order_by("-number"))
    return render(
        request,
        "interventions/plan_detail.html",
        {
            "plan": plan,
            "status": plan.status_enum,
            "steps": content.step_states(snapshot),
            "sections": content.readable(snapshot),
            "can_edit": workflow.can_edit(status=plan.status, permissions=perms),
            "can_submit": Transition.SUBMIT in transitions,
            "can_decide": any(t in workflow.DECISIONS for t in transitions),
            "other_transitions": [
                (t, workflow.RULES[t]) for t in transitions if t in actions.TRANSITION_ACTIONS
            ],
            "self_submitted": (
                version is not None
                and plan.status == Status.SUBMITTED
                and version.submitted_by_id == request.user.pk
                and Permission.DECIDE_PLAN in perms
            ),
            "can_record": workflow.can_record(status=plan.status, permissions=perms),
            "measures": plan.measures.annotate(n=Count("measurements"), last=Max("measurements__period")),
            "decisions": decisions,
            "versions": versions,
            "breadcrumbs": _crumbs(request.user, plan.pcn),
        },
    )


def _editable_or_redirect(request, plan):
    if not workflow.can_edit(status=plan.status, permissions=actions.permissions_on(request.user, plan.pcn)):
        messages.error(request, f"A plan that is {plan.status_enum.label.lower()} cannot be edited.")
        return _to_detail(plan)
    return None


def _stale(request, plan, exc):
    messages.error(request, str(exc))
    return _to_detail(plan)


def plan_step(request, pk, step):
    plan = get_plan_or_404(request.user, pk, Permission.DRAFT_PLAN)
    if step not in content.STEPS_BY_SLUG:
        raise Http404("No such step")
    if (response := _editable_or_redirect(request, plan)) is not None:
        return response
    spec = content.STEPS_BY_SLUG[step]
    form_class = STEP_FORMS[step]
    names = [n for n in form_class.base_fields if n != "expected_version"]
    kwargs = {"pcn": plan.pcn} if step == "population" else {}
    initial = {**_initial(plan, names), "expected_version": plan.version}
    record_form = (
        EngagementRecordForm(initial={"expected_version": plan.version}) if step == "engagement" else None
    )
    form = form_class(initial=initial, **kwargs)
    if request.method == "POST":
        if request.POST.get("form") == "record" and step == "engagement":
            record_form = EngagementRecordForm(request.POST)
            if record_form.is_valid():
                data = dict(record_form.cleaned_data)
                expected = data.pop("expected_version")
                try:
                    actions.add_engagement(plan=plan, data=data, expected_version=expected, by=request.user)
                except actions.StalePlan as exc:
                    record_form.add_error(None, str(exc))
                else:
                    messages.success(request, "The engagement record has been added.")
                    return redirect("interventions:plan_step", pk=plan.pk, step=step)
        else:
            form = form_class(request.POST, **kwargs)
            if form.is_valid():
                changes = {n: form.cleaned_data[n] for n in names}
                try:
                    actions.update_plan(
                        plan=plan,
                        changes=changes,
                        expected_version=form.cleaned_data["expected_version"],
                        by=request.user,
                    )
                except (actions.StalePlan, ValidationError) as exc:
                    form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
                else:
                    messages.success(request, f"“{spec.title}” has been saved.")
                    return _to_detail(plan)
    step_index = [s.slug for s in content.STEPS].index(step)
    return render(
        request,
        "interventions/plan_step.html",
        {
            "plan": plan,
            "step": spec,
            "step_number": step_index + 1,
            "form": form,
            "record_form": record_form,
            "records": plan.engagement.all() if step == "engagement" else None,
            "measures": plan.measures.all() if step == "outcomes" else None,
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )


@require_POST
def engagement_remove(request, pk, record_id):
    plan = get_plan_or_404(request.user, pk, Permission.DRAFT_PLAN)
    record = plan.engagement.filter(pk=record_id).first()
    if record is None:
        raise Http404("No such engagement record")
    try:
        actions.remove_engagement(
            record=record, expected_version=request.POST.get("expected_version", -1), by=request.user
        )
    except (WorkflowError, ValueError) as exc:
        return _stale(request, plan, exc)
    messages.success(request, "The engagement record has been removed.")
    return redirect("interventions:plan_step", pk=plan.pk, step="engagement")


def measure_edit(request, pk, measure_id=None):
    plan = get_plan_or_404(request.user, pk, Permission.DRAFT_PLAN)
    measure = None
    if measure_id is not None:
        measure = Measure.objects.filter(pk=measure_id, plan=plan).first()
        if measure is None:
            raise Http404("No such measure")
    if (response := _editable_or_redirect(request, plan)) is not None:
        return response
    names = [n for n in MeasureForm.base_fields if n != "expected_version"]
    initial = {
        "expected_version": plan.version,
        "kind": "proportion",
        "direction": "higher",
        "frequency": "monthly",
    }
    if measure is not None:
        initial = {**initial, **_initial(measure, names)}
    form = MeasureForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {n: form.cleaned_data[n] for n in names}
        if data["kind"] == "proportion":
            data["unit"] = ""
        else:
            data["numerator_definition"] = data["denominator_definition"] = ""
        try:
            actions.save_measure(
                plan=plan,
                measure=measure,
                data=data,
                expected_version=form.cleaned_data["expected_version"],
                by=request.user,
            )
        except (actions.StalePlan, ValidationError) as exc:
            form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, f"The measure “{data['name']}” has been saved.")
            return redirect("interventions:plan_step", pk=plan.pk, step="outcomes")
    return render(
        request,
        "interventions/measure_form.html",
        {
            "plan": plan,
            "measure": measure,
            "form": form,
            "breadcrumbs": _plan_crumbs(request.user, plan)
            + [("Outcome and measurement", reverse("interventions:plan_step", args=[plan.pk, "outcomes"]))],
        },
    )


@require_POST
def measure_remove(request, pk, measure_id):
    plan = get_plan_or_404(request.user, pk, Permission.DRAFT_PLAN)
    measure = Measure.objects.filter(pk=measure_id, plan=plan).first()
    if measure is None:
        raise Http404("No such measure")
    try:
        actions.remove_measure(
            measure=measure, expected_version=request.POST.get("expected_version", -1), by=request.user
        )
    except (WorkflowError, ValidationError, ValueError) as exc:
        return _stale(request, plan, exc.messages[0] if isinstance(exc, ValidationError) else exc)
    messages.success(request, f"The measure “{measure.name}” has been removed.")
    return redirect("interventions:plan_step", pk=plan.pk, step="outcomes")


@require_POST
def plan_submit(request, pk):
    plan = get_plan_or_404(request.user, pk, Permission.SUBMIT_PLAN)
    try:
        version = actions.submit(
            plan=plan, expected_version=request.POST.get("expected_version", -1), by=request.user
        )
    except (WorkflowError, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Version {version.number} has been submitted. The ICB's commissioners have been emailed.",
        )
    return _to_detail(plan)


def plan_decide(request, pk):
    plan = get_plan_or_404(request.user, pk, Permission.DECIDE_PLAN)
    version = latest_version(plan)
    form = DecisionForm(request.POST or None, initial={"expected_version": plan.version})
    # A decision posted after someone else decided: say so and give the comment back.
    stale = request.method == "POST" and plan.status != Status.SUBMITTED
    if version is None or (plan.status != Status.SUBMITTED and not stale):
        messages.error(request, f"The plan is {plan.status_enum.label.lower()}: there is nothing to decide.")
        return _to_detail(plan)
    if stale:
        # The version decided on is the one the commissioner was looking at, not a later one.
        decided = (
            PlanDecision.objects.filter(plan=plan).select_related("plan_version").order_by("-id").first()
        )
        version = decided.plan_version if decided else version
    previous = last_decided_version(plan, before_number=version.number)
    comparison = content.compare(previous.plan_version.snapshot, version.snapshot) if previous else None
    if request.method == "POST" and not stale and form.is_valid():
        try:
            actions.decide(
                plan=plan,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
                expected_version=form.cleaned_data["expected_version"],
                by=request.user,
            )
        except actions.StalePlan as exc:
            stale = True
            form.add_error(None, str(exc))
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            labels = {"approve": "approved", "request_changes": "sent back for changes", "reject": "rejected"}
            messages.success(
                request,
                f"The plan has been {labels[form.cleaned_data['decision']]}. The PCN's leads have been emailed.",
            )
            return _to_detail(plan)
    if stale:
        plan.refresh_from_db()
    return render(
        request,
        "interventions/plan_decide.html",
        {
            "plan": plan,
            "version": version,
            "sections": content.readable(version.snapshot),
            "previous": previous,
            "comparison": comparison,
            "since": f"version {previous.plan_version.number}, the version last decided on"
            if previous
            else "",
            "form": form,
            "stale": stale,
            "self_submitted": version.submitted_by_id == request.user.pk,
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )


def plan_transition(request, pk, transition):
    plan = get_plan_or_404(request.user, pk, Permission.SUBMIT_PLAN)
    try:
        transition = Transition(transition)
    except ValueError:
        raise Http404("No such change") from None
    if transition not in actions.TRANSITION_ACTIONS:
        raise Http404("No such change")
    rule = workflow.RULES[transition]
    form = TransitionForm(request.POST or None, initial={"expected_version": plan.version})
    form.fields["text"].label = (
        rule.text_required.capitalize() if rule.text_required else "Comment (optional)"
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.TRANSITION_ACTIONS[transition](
                plan=plan,
                text=form.cleaned_data["text"],
                expected_version=form.cleaned_data["expected_version"],
                by=request.user,
            )
        except WorkflowError as exc:
            form.add_error("text" if isinstance(exc, workflow.TextRequired) else None, str(exc))
        else:
            messages.success(request, f"The plan is now {rule.target.label.lower()}.")
            return _to_detail(plan)
    return render(
        request,
        "interventions/plan_transition.html",
        {
            "plan": plan,
            "rule": rule,
            "transition": transition,
            "form": form,
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )


def plan_version(request, pk, number):
    plan = get_plan_or_404(request.user, pk)
    version = plan.versions.select_related("submitted_by").filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    previous = plan.versions.filter(number=number - 1).first()
    decision = version.decisions.select_related("decided_by").first()
    return render(
        request,
        "interventions/plan_version.html",
        {
            "plan": plan,
            "version": version,
            "decision": decision,
            "sections": content.readable(version.snapshot),
            "previous": previous,
            "comparison": content.compare(previous.snapshot, version.snapshot) if previous else None,
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )


def plan_print(request, pk):
    plan = get_plan_or_404(request.user, pk)
    snapshot = current_snapshot(plan)
    return render(
        request,
        "interventions/plan_print.html",
        {
            "plan": plan,
            "status": plan.status_enum,
            "sections": content.readable(snapshot),
            "decisions": PlanDecision.objects.filter(plan=plan).select_related("decided_by", "plan_version"),
            "latest": latest_version(plan),
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )
