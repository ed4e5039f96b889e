"""What a plan says, step by step: the catalogue of steps and fields, the frozen snapshot format,
what is still missing before a plan can be submitted, and the readable comparison of two versions.

Pure functions over plain dicts (a snapshot is JSON: every value is display text, so a frozen
version still reads correctly after choices or catalogues change). `snapshot_of(plan)` in
`interventions.versions` builds one from the database; everything here runs without it.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    hint: str
    fields: tuple  # (name, label) pairs held on the plan itself
    required: tuple = ()
    children: str = ""  # "engagement" or "measures": records held in a child table
    children_required: bool = False


STEPS = (
    Step(
        "population",
        "Population",
        "Which of the PCN's target populations, and the clinical area.",
        (
            ("title", "Plan title"),
            ("target_population", "Target population"),
            ("clinical_area", "Clinical area"),
        ),
        required=("title", "target_population", "clinical_area"),
    ),
    Step(
        "evidence",
        "Evidence",
        "Why this population: the figures it rests on and the inequality it addresses.",
        (
            ("evidence_profile", "Profile figures this rests on"),
            ("evidence_other_data", "Other data used"),
            ("inequality_types", "Inequality addressed"),
            ("inequality_description", "The inequality in words"),
        ),
        required=("evidence_profile", "inequality_types", "inequality_description"),
    ),
    Step(
        "engagement",
        "Community engagement",
        "Who was engaged, how and when, what was heard and how it changed the plan.",
        (("engagement_summary", "Overall, how engagement shaped the plan"),),
        children="engagement",
        children_required=True,
    ),
    Step(
        "intervention",
        "Intervention",
        "What will be done, by whom, with what, when, the risks and the equity impact check.",
        (
            ("intervention_what", "What will be done"),
            ("intervention_by_whom", "By whom"),
            ("arrs_roles", "ARRS roles involved"),
            ("partners", "Partners"),
            ("resources", "Resources"),
            ("start_date", "Start date"),
            ("end_date", "End date"),
            ("risks", "Risks"),
            ("equity_could_widen", "Could it widen any gap?"),
            ("equity_impact", "Equity impact: for whom, and what the plan does about it"),
        ),
        required=(
            "intervention_what",
            "intervention_by_whom",
            "start_date",
            "end_date",
            "risks",
            "equity_could_widen",
            "equity_impact",
        ),
    ),
    Step(
        "outcomes",
        "Outcome and measurement",
        "The outcome, the measures that show it and the quality-improvement approach.",
        (
            ("outcome", "Outcome the plan should achieve"),
            ("qi_approach", "Quality-improvement approach (PDSA cycles planned)"),
            ("pdsa_cycles", "Number of PDSA cycles planned"),
        ),
        required=("outcome", "qi_approach"),
        children="measures",
        children_required=True,
    ),
)
STEPS_BY_SLUG = {s.slug: s for s in STEPS}

ENGAGEMENT_FIELDS = (
    ("who", "Who was engaged"),
    ("partners", "Partners involved"),
    ("method", "How"),
    ("held_on", "When"),
    ("heard", "What was heard"),
    ("changed_plan", "How it changed the plan"),
)
ENGAGEMENT_REQUIRED = ("who", "method", "held_on", "heard", "changed_plan")

MEASURE_FIELDS = (
    ("name", "Name"),
    ("kind", "Type"),
    ("numerator_definition", "Numerator"),
    ("denominator_definition", "Denominator"),
    ("unit", "Unit"),
    ("direction", "Direction of improvement"),
    ("baseline_value", "Baseline value"),
    ("baseline_period", "Baseline period"),
    ("target_value", "Target"),
    ("target_date", "Target date"),
    ("frequency", "Frequency"),
    ("data_source", "Data source"),
    ("rebase_at", "Limits rebased from"),
)

CHILD_CATALOGUE = {
    "engagement": ("Engagement", ENGAGEMENT_FIELDS, "who"),
    "measures": ("Measure", MEASURE_FIELDS, "name"),
}


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def missing(snapshot):
    """{step slug: [what is missing, in words]} for every step that is not yet complete."""
    result = {}
    for step in STEPS:
        labels = dict(step.fields)
        gaps = [labels[name] for name in step.required if _blank(snapshot.get(name))]
        if step.children == "engagement":
            records = snapshot.get("engagement") or []
            if not records:
                gaps.append("At least one engagement record")
            labels_e = dict(ENGAGEMENT_FIELDS)
            for i, record in enumerate(records, start=1):
                gaps.extend(
                    f"Engagement {i}: {labels_e[name]}"
                    for name in ENGAGEMENT_REQUIRED
                    if _blank(record.get(name))
                )
        if step.children == "measures" and not (snapshot.get("measures") or []):
            gaps.append("At least one measure")
        if gaps:
            result[step.slug] = gaps
    return result


def step_states(snapshot):
    """[(step, completed: bool, gaps)] in order, for the task list."""
    gaps = missing(snapshot)
    return [(step, step.slug not in gaps, gaps.get(step.slug, [])) for step in STEPS]


@dataclass(frozen=True)
class Change:
    section: str  # the step title
    item: str  # "" for a field of the plan itself; "Measure: Blood pressure recorded" for a child
    label: str
    before: str
    after: str
    kind: str = "changed"  # changed | added | removed


@dataclass
class Comparison:
    changes: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.changes)

    def by_section(self):
        sections = {}
        for change in self.changes:
            sections.setdefault(change.section, []).append(change)
        return list(sections.items())


def _text(value):
    if _blank(value):
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def compare(before, after):
    """Field-by-field differences from snapshot `before` to snapshot `after`.

    Child records (engagement, measures) are matched on their `id`, so a renamed measure shows as
    a change, not as one removed and one added.
    """
    comparison = Comparison()
    before = before or {}
    for step in STEPS:
        for name, label in step.fields:
            old, new = _text(before.get(name)), _text(after.get(name))
            if old != new:
                comparison.changes.append(Change(step.title, "", label, old, new))
        if step.children:
            noun, fields, title_field = CHILD_CATALOGUE[step.children]
            old_records = {r.get("id"): r for r in before.get(step.children) or []}
            new_records = {r.get("id"): r for r in after.get(step.children) or []}
            for key, new in new_records.items():
                old = old_records.get(key)
                name = f"{noun}: {_text(new.get(title_field))}"
                if old is None:
                    comparison.changes.append(
                        Change(step.title, name, f"{noun} added", "", _describe(new, fields), "added")
                    )
                    continue
                for fname, label in fields:
                    o, n = _text(old.get(fname)), _text(new.get(fname))
                    if o != n:
                        comparison.changes.append(Change(step.title, name, label, o, n))
            for key, old in old_records.items():
                if key not in new_records:
                    name = f"{noun}: {_text(old.get(title_field))}"
                    comparison.changes.append(
                        Change(step.title, name, f"{noun} removed", _describe(old, fields), "", "removed")
                    )
    return comparison


def _describe(record, fields):
    return "; ".join(
        f"{label}: {_text(record.get(name))}" for name, label in fields if not _blank(record.get(name))
    )


def readable(snapshot):
    """The snapshot as sections for a page: [(step, [(label, text)], [(item, [(label, text)])])]."""
    sections = []
    for step in STEPS:
        rows = [(label, _text(snapshot.get(name))) for name, label in step.fields]
        items = []
        if step.children:
            noun, fields, title_field = CHILD_CATALOGUE[step.children]
            for record in snapshot.get(step.children) or []:
                items.append(
                    (
                        f"{noun}: {_text(record.get(title_field))}",
                        [
                            (label, _text(record.get(name)))
                            for name, label in fields
                            if not _blank(record.get(name))
                        ],
                    )
                )
        sections.append((step, rows, items))
    return sections
