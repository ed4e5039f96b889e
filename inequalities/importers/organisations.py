"""Set-based create-or-update of organisations on their ODS codes, shared by the practice map and
ePCN importers. One query to read what exists, one `bulk_create` for new codes, one
`bulk_update` for changed ones; nothing is saved row by row."""

from datetime import timedelta

from inequalities.models import PracticePCNMembership


def upsert(model, rows: dict, fields: list[str]) -> tuple[dict, int, int]:
    """`rows` maps code -> {field: value}. Returns ({code: instance}, created, updated)."""
    existing = model.objects.in_bulk(list(rows), field_name="code") if rows else {}
    new, changed = [], []
    for code, values in rows.items():
        obj = existing.get(code)
        if obj is None:
            new.append(model(code=code, **values))
            continue
        dirty = False
        for f in fields:
            if f in values and getattr(obj, f) != values[f]:
                setattr(obj, f, values[f])
                dirty = True
        if dirty:
            changed.append(obj)
    model.objects.bulk_create(new, batch_size=1000)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=1000)
    out = dict(existing)
    if new:
        out.update(model.objects.in_bulk([o.code for o in new], field_name="code"))
    return out, len(new), len(changed)


def set_current_pcns(practice_pcn: dict, *, practices: dict, pcns: dict, day) -> dict:
    """Make each practice's current PCN the one given (None = no PCN) from `day`: memberships to
    another PCN end the day before; a new one starts on `day`. Already right = unchanged."""
    current = {}
    for m in (
        PracticePCNMembership.objects.current()
        .filter(practice__code__in=list(practice_pcn))
        .select_related("practice", "pcn")
    ):
        current.setdefault(m.practice.code, []).append(m)
    ended, created = [], []
    previous_day = day - timedelta(days=1)
    for code, pcn_code in practice_pcn.items():
        memberships = current.get(code, [])
        if pcn_code and any(m.pcn.code == pcn_code for m in memberships):
            continue
        for m in memberships:
            m.end_date = max(previous_day, m.start_date) if m.start_date else previous_day
            ended.append(m)
        if pcn_code:
            created.append(
                PracticePCNMembership(
                    practice=practices[code],
                    pcn=pcns[pcn_code],
                    # A first-ever membership has no known start; a change starts on `day`.
                    start_date=day if memberships else None,
                )
            )
    if ended:
        PracticePCNMembership.objects.bulk_update(ended, ["end_date"], batch_size=1000)
    # A practice that once left this PCN and comes back on the same start day is not duplicated.
    keys = {(m.practice_id, m.pcn_id, m.start_date) for m in created}
    clash = set(
        PracticePCNMembership.objects.filter(
            practice_id__in={k[0] for k in keys}, pcn_id__in={k[1] for k in keys}
        ).values_list("practice_id", "pcn_id", "start_date")
    )
    created = [m for m in created if (m.practice_id, m.pcn_id, m.start_date) not in clash]
    PracticePCNMembership.objects.bulk_create(created, batch_size=1000)
    return {"memberships_created": len(created), "memberships_ended": len(ended)}
