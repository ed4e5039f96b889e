from .measures import Measure, Measurement
from .plans import EngagementRecord, InterventionPlan, PlanDecision, PlanVersion

__all__ = [
    "EngagementRecord",
    "InterventionPlan",
    "Measure",
    "Measurement",
    "PlanDecision",
    "PlanVersion",
]
