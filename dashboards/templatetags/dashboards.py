"""Numbers for people on the dashboard pages."""

from django import template

from inequalities.names import nhs_title_case
from pcn_portal.charts import percent

register = template.Library()


@register.filter
def pct(value):
    """A share (0-1) as a percentage with one decimal; a dash when unknown."""
    return "–" if value is None else percent(value)


@register.filter
def points(value):
    """A number already in percent or percentage points, one decimal; a dash when unknown."""
    return "–" if value is None else f"{value:,.1f}"


@register.filter
def nhs_title(value):
    return nhs_title_case(value or "")
