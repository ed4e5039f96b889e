"""Neighbourhood deprivation, GP registers and the profiles computed from them.

* `ImdEdition` / `LsoaDeprivation`: one edition of the English Indices of Deprivation (2019 on
  LSOA 2011, 2025 on LSOA 2021) with score (when the file has it), rank and decile per LSOA, and
  the domain deciles where published.
* `LsoaLookup`: ONS LSOA 2011 -> 2021 best-fit lookup, to apply an edition to a register coded in
  the other geography.
* `RegistrationSnapshot` / `Registration`: patients registered per practice x LSOA at one extract
  date. Practice codes are kept as text: real files hold closed practices the organisation data
  may not know, and the bulk load stays a plain COPY.
* `DeprivationProfile`: precomputed per organisation (explicit level + code), so pages only read.
"""

from django.conf import settings
from django.db import models


class Geography(models.TextChoices):
    LSOA11 = "LSOA11", "LSOA 2011"
    LSOA21 = "LSOA21", "LSOA 2021"


class ImdEdition(models.Model):
    year = models.PositiveSmallIntegerField(unique=True)
    geography = models.CharField(max_length=8, choices=Geography.choices)
    lsoa_count = models.PositiveIntegerField(default=0)
    has_scores = models.BooleanField(default=False)
    has_domains = models.BooleanField(default=False)
    layout = models.CharField(max_length=100, blank=True, default="")
    source_name = models.CharField(max_length=255, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-year"]

    def __str__(self):
        return f"IMD {self.year} ({self.get_geography_display()})"


DOMAINS = [
    ("income", "Income"),
    ("employment", "Employment"),
    ("education", "Education, skills and training"),
    ("health", "Health deprivation and disability"),
    ("crime", "Crime"),
    ("housing", "Barriers to housing and services"),
    ("living_environment", "Living environment"),
    ("idaci", "Income deprivation affecting children"),
    ("idaopi", "Income deprivation affecting older people"),
]


class LsoaDeprivation(models.Model):
    edition = models.ForeignKey(ImdEdition, on_delete=models.CASCADE, related_name="lsoas")
    lsoa_code = models.CharField(max_length=9)
    lsoa_name = models.CharField(max_length=100, blank=True, default="")
    lad_code = models.CharField(max_length=9, blank=True, default="")
    lad_name = models.CharField(max_length=100, blank=True, default="")
    score = models.FloatField(null=True, blank=True)
    rank = models.PositiveIntegerField()
    decile = models.PositiveSmallIntegerField()
    income_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    employment_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    education_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    health_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    crime_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    housing_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    living_environment_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    idaci_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    idaopi_decile = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edition", "lsoa_code"], name="unique_edition_lsoa"),
            models.CheckConstraint(
                condition=models.Q(decile__gte=1, decile__lte=10),
                name="imd_decile_1_to_10",
            ),
        ]

    def __str__(self):
        return f"{self.lsoa_code} decile {self.decile} ({self.edition})"


class LsoaLookup(models.Model):
    class Change(models.TextChoices):
        UNCHANGED = "U", "Unchanged"
        SPLIT = "S", "Split"
        MERGED = "M", "Merged"
        IRREGULAR = "X", "Irregular"

    lsoa11_code = models.CharField(max_length=9, db_index=True)
    lsoa21_code = models.CharField(max_length=9, db_index=True)
    change = models.CharField(max_length=1, choices=Change.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lsoa11_code", "lsoa21_code"], name="unique_lsoa_pair")
        ]

    def __str__(self):
        return f"{self.lsoa11_code} -> {self.lsoa21_code} ({self.change})"


class RegistrationSnapshot(models.Model):
    extract_date = models.DateField(unique=True)
    publication = models.CharField(max_length=64, blank=True, default="")
    geography = models.CharField(max_length=8, choices=Geography.choices)
    layout = models.CharField(max_length=100, blank=True, default="")
    source_name = models.CharField(max_length=255, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    row_count = models.PositiveIntegerField(default=0)
    practice_count = models.PositiveIntegerField(default=0)
    patient_count = models.PositiveBigIntegerField(default=0)
    unknown_lsoa_patients = models.PositiveBigIntegerField(default=0)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-extract_date"]

    def __str__(self):
        return f"GP registrations {self.extract_date:%d %b %Y}"


class Registration(models.Model):
    """Patients of one practice living in one LSOA at one extract date.

    Bulk-load trade-offs (see inequalities/importers/partitions.py): the natural key is the
    primary key (one index, no surrogate id to generate for 1.2 M rows), and there is no database
    FK constraint to the snapshot, because PostgreSQL checks a deferred FK row by row at COMMIT
    (~4 s for a national file). Rows are written only by the registrations importer, for the
    snapshot it has just created or locked; deleting a snapshot still cascades through the ORM.
    On PostgreSQL the table is partitioned by snapshot (migration 0004)."""

    pk = models.CompositePrimaryKey("snapshot_id", "practice_code", "lsoa_code")
    snapshot = models.ForeignKey(
        RegistrationSnapshot,
        on_delete=models.CASCADE,
        related_name="registrations",
        db_index=False,
        db_constraint=False,
    )
    practice_code = models.CharField(max_length=12)
    # Empty for a blank LSOA in the source; pseudo codes (NO2011, CLOSED...) are kept as given.
    lsoa_code = models.CharField(max_length=12, blank=True, default="")
    patients = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.practice_code} {self.lsoa_code or '(no LSOA)'}: {self.patients}"


class ProfileLevel(models.TextChoices):
    PRACTICE = "practice", "GP practice"
    PCN = "pcn", "PCN"
    SUB_ICB = "sub_icb", "Sub-ICB location"
    ICB = "icb", "ICB"
    REGION = "region", "NHS region"
    ENGLAND = "england", "England"


class DeprivationProfile(models.Model):
    """Registered patients of one organisation by national IMD decile, for one IMD edition and
    one registration extract. Computed by `inequalities.profiles`, never by a page."""

    level = models.CharField(max_length=10, choices=ProfileLevel.choices)
    code = models.CharField(max_length=12)
    name = models.CharField(max_length=250, blank=True, default="")
    edition = models.ForeignKey(ImdEdition, on_delete=models.CASCADE, related_name="profiles")
    snapshot = models.ForeignKey(RegistrationSnapshot, on_delete=models.CASCADE, related_name="profiles")
    registered_patients = models.PositiveBigIntegerField(default=0)
    core20_patients = models.PositiveBigIntegerField(default=0)
    unknown_patients = models.PositiveBigIntegerField(default=0)
    decile_patients = models.JSONField(default=list)  # 10 counts, decile 1 (most deprived) first
    imd_score = models.FloatField(null=True, blank=True)  # population-weighted, where scores exist
    imd_score_quintile = models.PositiveSmallIntegerField(null=True, blank=True)
    method = models.CharField(max_length=300, blank=True, default="")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "code", "edition", "snapshot"], name="unique_profile")
        ]
        indexes = [models.Index(fields=["edition", "snapshot", "level"])]

    def __str__(self):
        return f"{self.get_level_display()} {self.code}: {self.registered_patients} patients"

    @property
    def known_patients(self):
        return self.registered_patients - self.unknown_patients

    @property
    def core20_share(self):
        known = self.known_patients
        return self.core20_patients / known if known else None

    @property
    def quintile_patients(self):
        d = list(self.decile_patients) + [0] * (10 - len(self.decile_patients))
        return [d[i] + d[i + 1] for i in range(0, 10, 2)]


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        IMD = "imd", "Index of Multiple Deprivation"
        REGISTRATIONS = "registrations", "GP registrations by LSOA"
        PRACTICE_MAP = "practice_map", "GP registrations practice map"
        EPCN = "epcn", "ePCN (practice to PCN)"
        LSOA_LOOKUP = "lsoa_lookup", "LSOA 2011 to 2021 lookup"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        UNCHANGED = "unchanged", "Unchanged (same file as before)"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    trigger = models.CharField(max_length=16, default="upload")  # upload, command, schedule, demo
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    source_name = models.CharField(max_length=255)
    source_path = models.CharField(max_length=500, blank=True, default="")
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    layout = models.CharField(max_length=64, blank=True, default="")
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    progress_message = models.CharField(max_length=200, blank=True, default="")
    errors = models.JSONField(default=list, blank=True)  # first 100 "file:line: column: problem"
    error_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} import of {self.source_name} ({self.status})"

    @property
    def duration_seconds(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self):
        return self.status in {
            self.Status.SUCCEEDED,
            self.Status.UNCHANGED,
            self.Status.FAILED,
        }
