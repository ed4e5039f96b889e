"""Import benchmark: the synthetic England-size GP registrations file on PostgreSQL.

    DATABASE_URL=postgres://... python -m benchmarks.imports [--repeat 3] [--practices 6300]

Prints a readable table and one `key=value` line per figure:

* `import_s`: parse + validate + load + swap + profiles, i.e. `import_file("registrations", …)`
  replacing the snapshot of the same extract date (the monthly case); `first_import_s` is the
  same into an empty snapshot;
* `floor_s`: parse the same file with pandas (the three columns) + raw COPY of them into an
  unindexed scratch table — what any loader must at least spend;
* `ratio`: median over runs of import / floor, each pair timed back to back;
* `peak_rss_mb` from getrusage (this process + children).

Medians over `--repeat` runs. The synthetic file is generated once and cached in var/bench/.
Setup (IoD2025 File 1 and the synthetic practice map) is not timed.
"""

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcn_portal.settings")
    import django

    django.setup()


def floor_seconds(path):
    """Parse the three columns with pandas, COPY them raw into a scratch table."""
    import pandas as pd
    from django.db import connection, transaction

    from inequalities.importers.bulk import render_csv

    start = time.perf_counter()
    frame = pd.read_csv(
        path,
        usecols=["PRACTICE_CODE", "LSOA_CODE", "NUMBER_OF_PATIENTS"],
        dtype={"PRACTICE_CODE": "category", "LSOA_CODE": "category", "NUMBER_OF_PATIENTS": "int64"},
        keep_default_na=False,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scratch")
        cursor.execute(
            "CREATE TABLE bench_scratch (practice_code varchar(12), lsoa_code varchar(12), patients integer)"
        )
        cursor.cursor.copy_expert(
            "COPY bench_scratch (practice_code, lsoa_code, patients) "
            "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            render_csv(frame, ["PRACTICE_CODE", "LSOA_CODE", "NUMBER_OF_PATIENTS"]),
        )
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_scratch")
    return elapsed, len(frame)


def peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024  # ru_maxrss is in KiB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--practices", type=int, default=6_300)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)

    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from inequalities.importers import import_file
    from inequalities.importers.partitions import is_partitioned
    from inequalities.models import DeprivationProfile, ImdEdition, Practice, RegistrationSnapshot
    from inequalities.synthetic import IMD_FILE, PRACTICE_MAP, REGISTRATIONS, generate

    if connection.vendor != "postgresql":
        sys.exit("The import benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)

    cache = Path(settings.BASE_DIR) / "var" / "bench" / f"synthetic-{args.practices}-{args.seed}"
    if not (cache / REGISTRATIONS).exists():
        print(f"Generating the synthetic file in {cache} ...", flush=True)
        generate(cache, practices=args.practices, seed=args.seed)
    registrations = cache / REGISTRATIONS
    if not ImdEdition.objects.filter(year=2025, lsoa_count=33_755).exists():
        import_file("imd", Path(settings.BASE_DIR) / "data" / "open" / IMD_FILE)
    if Practice.objects.filter(code__startswith="S0").count() < args.practices:
        import_file("practice_map", cache / PRACTICE_MAP)

    load_before = os.getloadavg()[0]
    first, replace, floors = [], [], []
    rows = 0
    for _ in range(args.repeat):
        RegistrationSnapshot.objects.filter(source_name=registrations.name).delete()
        start = time.perf_counter()
        summary = import_file("registrations", registrations)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        summary = import_file("registrations", registrations)
        replace.append(time.perf_counter() - start)
        rows = summary["rows"]
        floor, floor_rows = floor_seconds(registrations)
        floors.append(floor)
        assert floor_rows == rows + summary["rows_skipped_by_sex"]

    import_s = statistics.median(replace)
    floor_s = statistics.median(floors)
    # Each run's import is timed next to its own floor: the median of those ratios is steadier
    # than a ratio of medians when other work shares the machine.
    ratio = statistics.median(r / f for r, f in zip(replace, floors, strict=True))
    figures = {
        "registrations_rows": rows,
        "import_s": round(import_s, 2),
        "first_import_s": round(statistics.median(first), 2),
        "floor_s": round(floor_s, 2),
        "ratio": round(ratio, 2),
        "rows_per_s": int(rows / import_s),
        "profiles": summary["profiles"],
        "peak_rss_mb": round(peak_rss_mb()),
    }
    profile_count = DeprivationProfile.objects.filter(snapshot__source_name=registrations.name).count()
    print()
    print(
        "GP registrations import benchmark "
        f"(PostgreSQL, partitioned={is_partitioned()}, median of {args.repeat})"
    )
    print(f"  file                  {registrations} ({registrations.stat().st_size / 1e6:.0f} MB)")
    print(f"  rows                  {rows:>12,}")
    print(f"  import (replace)      {import_s:>12.2f} s   parse+validate+load+swap+profiles")
    print(f"  import (first)        {figures['first_import_s']:>12.2f} s")
    print(f"  floor                 {floor_s:>12.2f} s   pandas parse + raw COPY, 3 columns")
    print(f"  ratio                 {figures['ratio']:>12.2f}     target <= 3")
    print(f"  rows/s                {figures['rows_per_s']:>12,}")
    print(f"  profiles written      {profile_count:>12,}")
    print(f"  peak RSS              {figures['peak_rss_mb']:>12,} MB target <= 1,536")
    print(f"  all runs (replace)    {', '.join(f'{x:.2f}' for x in replace)}")
    print(f"  all runs (floor)      {', '.join(f'{x:.2f}' for x in floors)}")
    print(
        f"  load average          {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        f"({os.cpu_count()} CPUs)"
    )
    print()
    for key, value in figures.items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main()
