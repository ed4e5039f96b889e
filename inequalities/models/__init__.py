from .access import ICB_ROLES, PCN_ROLES, Membership, Role
from .audit import AppendOnlyError, AuditEvent
from .core20plus5 import AgeGroup, ClinicalArea, PlusGroup, TargetPopulation
from .deprivation import (
    DOMAINS,
    DeprivationProfile,
    Geography,
    ImdEdition,
    ImportRun,
    LsoaDeprivation,
    LsoaLookup,
    ProfileLevel,
    Registration,
    RegistrationSnapshot,
)
from .leads import HILeadNomination, LeadActivity
from .organisations import ICB, PCN, Practice, PracticePCNMembership, Region, SubICB
from .targets import PriorityTargetReturn

__all__ = [
    "AgeGroup",
    "ClinicalArea",
    "PlusGroup",
    "TargetPopulation",
    "AppendOnlyError",
    "AuditEvent",
    "DOMAINS",
    "DeprivationProfile",
    "Geography",
    "HILeadNomination",
    "ICB",
    "ICB_ROLES",
    "ImdEdition",
    "ImportRun",
    "LsoaDeprivation",
    "LeadActivity",
    "LsoaLookup",
    "Membership",
    "PCN",
    "PCN_ROLES",
    "Practice",
    "PracticePCNMembership",
    "PriorityTargetReturn",
    "ProfileLevel",
    "Region",
    "Registration",
    "RegistrationSnapshot",
    "Role",
    "SubICB",
]
