"""Dashboard page benchmark (not a test): `python -m benchmarks.pages` with DATABASE_URL on
PostgreSQL.

1. Loads England-size synthetic data once (cached): the IoD2025 scores from data/open, and a
   seeded synthetic GP registrations file with its practice map (~6,300 practices, ~1,250 PCNs,
   42 ICBs; `inequalities.synthetic`, written under var/bench/) through the real importers. The
   registrations import recomputes the deprivation profiles, whose audit event queues the
   dashboards refresh (eager here, as without Redis).
2. Server time of the England view, an ICB overview and a PCN dashboard in-process with the
   Django test client: median and p95 over 50 warm requests, and the SQL queries each page makes
   (cold, i.e. with empty chart caches, and warm).
3. A load run against gunicorn on 127.0.0.1: for the trivial view (/healthz) and each dashboard
   page in turn, 20 concurrent clients for 60 s (wrk when installed, otherwise a bounded Python
   load generator with threads and http.client), reporting requests/s, p95 and errors.

Production-like settings (benchmarks/settings.py): DEBUG off, persistent database connections,
the cache in Redis (BENCH_REDIS_URL, default database 3 on 127.0.0.1, emptied at the start),
static files collected under var/bench/ as the Docker image does; tasks run in this process.
Plain HTTP on loopback, so the HTTPS redirects and secure-cookie flags are off, and MFA
enforcement for ICB roles is off (the benchmark signs users in by session). Each load client
sends the cookies a browser has after its first page: the session and the CSRF cookie.

`queries` is the count on a cold cache (session, user and page built from the database);
`warm q.` in the table, the count once they are cached.

Prints a readable table and machine lines:
    page=<name> p50_ms=… p95_ms=… queries=…
    load=<name> rps=… p95_ms=… errors=…
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
SYNTHETIC_DIR = BENCH_DIR / "synthetic"
IMD_FILE = ROOT / "data" / "open" / "imd2025_england_lsoa21_scores_ranks_deciles.csv.gz"

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    "PCN_PORTAL_IGNORE_DOTENV": "1",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "SECURE_HSTS_PRELOAD": "0",
    "MFA_REQUIRED_FOR_ICB_ROLES": "0",
    "LOG_LEVEL": "WARNING",
}


def percentile(values, q):
    """Nearest-rank percentile (q in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


# --- Setup ----------------------------------------------------------------------------------------


def configure_environment():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "benchmarks.pages needs DATABASE_URL=postgres://… (PostgreSQL), e.g. "
            "postgres://postgres@127.0.0.1:5432/pcn_dash"
        )
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(40))
    os.environ.setdefault("STATIC_ROOT", str(BENCH_DIR / "staticfiles"))
    # The cache is Redis, as in production: gunicorn's workers share sessions, signed-in users
    # and pages through it (ADR 0010). Tasks still run in this process (benchmarks/settings.py).
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    ensure_redis(os.environ["REDIS_URL"])
    ensure_database(url)


def ensure_redis(url):
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
    except redis.RedisError as exc:
        sys.exit(f"benchmarks.pages needs Redis at {url} (BENCH_REDIS_URL): {exc}")
    client.flushdb()  # this benchmark's own database: start from an empty cache


def ensure_database(url):
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            from psycopg2 import sql

            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def load_data(practices):
    """Import the IMD and the synthetic registrations once; later runs find the same files
    already loaded (the importers answer UNCHANGED). Returns a description of what was done."""
    from django.core.management import call_command

    from dashboards.models import AggregateSet
    from dashboards.refresh import refresh_aggregates
    from inequalities.imports import execute_run, start_import
    from inequalities.synthetic import PRACTICE_MAP, REGISTRATIONS, generate

    call_command("migrate", verbosity=0, interactive=False)
    target = SYNTHETIC_DIR / f"{practices}"
    if not (target / REGISTRATIONS).exists() or not (target / PRACTICE_MAP).exists():
        target.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        generate(target, practices=practices)
        print(f"generated synthetic registrations in {time.monotonic() - started:.1f} s under {target}")
    steps = []
    for kind, path in (
        ("imd", IMD_FILE),
        ("practice_map", target / PRACTICE_MAP),
        ("registrations", target / REGISTRATIONS),
    ):
        started = time.monotonic()
        run = start_import(kind=kind, path=path, by=None, trigger="command", enqueue=False)
        status = execute_run(run.pk, recompute_inline=True)
        steps.append(f"{kind}: {status} in {time.monotonic() - started:.1f} s")
        if status not in ("succeeded", "unchanged"):
            run.refresh_from_db()
            sys.exit(f"import of {path} failed: {run.errors[:3]}")
    added = add_activity()
    if added or not AggregateSet.objects.exists():
        started = time.monotonic()
        refresh_aggregates()
        steps.append(f"dashboard aggregates: computed in {time.monotonic() - started:.1f} s{added}")
    return steps


def add_activity(seed=2025):
    """Seeded priority-target returns (four quarters, every practice) and plans with monthly
    measurements for a third of PCNs, once, so that funnels, inequality summaries, plan status
    and SPC states are part of the measured pages. Returns a note of what was added."""
    import random
    from datetime import date

    from inequalities.models import PCN, PracticePCNMembership, PriorityTargetReturn
    from interventions.models import InterventionPlan, Measure, Measurement

    if PriorityTargetReturn.objects.exists():
        return ""
    rng = random.Random(seed)
    members = list(PracticePCNMembership.objects.current().values_list("practice_id", "pcn_id"))
    returns = []
    for quarter in (date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1), date(2025, 10, 1)):
        for practice_id, pcn_id in members:
            list_size = rng.randint(2_000, 20_000)
            ld = max(5, int(list_size * rng.uniform(0.003, 0.006)))
            smi = max(5, int(list_size * rng.uniform(0.006, 0.011)))
            returns.append(
                PriorityTargetReturn(
                    practice_id=practice_id,
                    pcn_id=pcn_id,
                    quarter_start=quarter,
                    ld_register_14_plus=ld,
                    ld_health_checks=int(ld * rng.uniform(0.5, 0.95)),
                    smi_register=smi,
                    smi_health_checks=int(smi * rng.uniform(0.3, 0.8)),
                    ethnicity_recorded=int(list_size * rng.uniform(0.85, 0.99)),
                    list_size=list_size,
                    scd_register=rng.randint(0, 6),
                )
            )
    PriorityTargetReturn.objects.bulk_create(returns, batch_size=5_000)
    statuses = ["draft", "submitted", "approved", "active", "active", "completed"]
    plans = [
        InterventionPlan(pcn_id=pcn_id, title=f"Synthetic plan {i}", status=rng.choice(statuses))
        for i, pcn_id in enumerate(PCN.objects.order_by("code").values_list("pk", flat=True)[::3])
    ]
    InterventionPlan.objects.bulk_create(plans, batch_size=2_000)
    measures = Measure.objects.bulk_create(
        [
            Measure(plan=p, name="Blood pressure checks (%)", direction="higher", target_value=70)
            for p in plans
        ],
        batch_size=2_000,
    )
    periods = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(15)]
    Measurement.objects.bulk_create(
        [
            Measurement(measure=m, period=period, numerator=rng.randint(40, 80), denominator=100)
            for m in measures
            for period in periods
        ],
        batch_size=5_000,
    )
    return f" (after adding {len(returns):,} priority-target returns, {len(plans):,} plans with measurements)"


def bench_users():
    """An HI lead-free PCN member, an ICB analyst and the organisations they look at: the ICB
    with the most PCNs and its largest PCN."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from dashboards.models import PCNOverview
    from dashboards.refresh import current_set
    from inequalities.models import ICB, PCN, Membership, Role

    agg = current_set()
    icb = ICB.objects.annotate(n=Count("sub_icbs__pcns")).order_by("-n", "code").first()
    pcn_code = (
        PCNOverview.objects.filter(aggregate_set=agg, icb_code=icb.code)
        .order_by("-practice_count", "code")
        .values_list("code", flat=True)
        .first()
    )
    pcn = PCN.objects.get(code=pcn_code)
    user_model = get_user_model()

    def user(email, role, **scope):
        u, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
        Membership.objects.get_or_create(user=u, role=role, ended_at=None, **scope)
        return u

    return {
        "member": user("bench-member@example.nhs.uk", Role.PCN_MEMBER, pcn=pcn),
        "analyst": user("bench-analyst@example.nhs.uk", Role.ICB_ANALYST, icb=icb),
        "icb": icb,
        "pcn": pcn,
        "agg": agg,
    }


def pages(setup):
    from django.urls import reverse

    return [
        ("england", reverse("dashboards:england"), setup["member"]),
        ("icb", reverse("dashboards:icb", args=[setup["icb"].code]), setup["analyst"]),
        ("pcn", reverse("dashboards:pcn", args=[setup["pcn"].code]), setup["member"]),
    ]


# --- In-process timing ----------------------------------------------------------------------------


class QueryCounter:
    """Counts the SQL statements run on the default connection (an execute wrapper, so it works
    with DEBUG off)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        from django.db import connection

        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def time_pages(setup, requests=50, warmup=5):
    from django.core.cache import cache
    from django.test import Client

    results = []
    for name, url, user in pages(setup):
        client = Client()
        client.force_login(user)
        cache.clear()
        with QueryCounter() as cold:
            response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"{name}: {url} answered {response.status_code}")
        for _ in range(warmup):
            client.get(url)
        with QueryCounter() as warm:
            client.get(url)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results.append(
            {
                "name": name,
                "url": url,
                "p50": statistics.median(timings),
                "p95": percentile(timings, 95),
                "queries": cold.count,
                "warm_queries": warm.count,
                "bytes": len(response.content),
            }
        )
    return results


# --- Load run -------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(user):
    """The cookies a browser sends once the user has signed in and opened a page: the session
    and the CSRF cookie (set by the first page with a form, the header's sign-out button)."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(user)
    client.get(reverse("home"))
    assert settings.CSRF_COOKIE_NAME in client.cookies, "the home page sets the CSRF cookie"
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def start_gunicorn(port, workers):
    log = open(BENCH_DIR / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "pcn_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log.name}")
        try:
            status, _ = fetch(port, "/healthz", "")
            if status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


def fetch(port, path, cookie, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read()
        return response.status, body
    finally:
        conn.close()


WRK_SCRIPT = """
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
local non200 = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body) if status ~= 200 then non200 = non200 + 1 end end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non200") or 0) end
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d socket_errors=%d non200=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout, bad))
end
"""


def load_wrk(port, path, cookie, clients, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-c{clients}",
                "-t2",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                script,
                f"http://127.0.0.1:{port}{path}",
            ],
            env={**os.environ, "BENCH_COOKIE": cookie},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    found = dict(re.findall(r"(\w+)=(\d+)", out.split("BENCH", 1)[1]))
    duration = int(found["duration_us"]) / 1e6
    return {
        "requests": int(found["requests"]),
        "rps": int(found["requests"]) / duration,
        "p50": int(found["p50_us"]) / 1000,
        "p95": int(found["p95_us"]) / 1000,
        "errors": int(found["socket_errors"]) + int(found["non200"]),
    }


def load_python(port, path, cookie, clients, seconds):
    """20 threads, each a client issuing one request after another until the deadline."""
    deadline = time.monotonic() + seconds
    latencies, errors, lock = [], [0], threading.Lock()

    def client():
        mine, bad = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, _ = fetch(port, path, cookie)
                if status != 200:
                    bad += 1
            except OSError:
                bad += 1
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "errors": errors[0],
    }


def load_run(setup, *, clients, seconds, workers, tool):
    port = free_port()
    proc = start_gunicorn(port, workers)
    from django.urls import reverse

    targets = [
        ("trivial", "/healthz", ""),
        # A reference, not a target: the lightest signed-in page (session, user and memberships
        # read, the NHS header rendered), the floor under any dashboard page.
        ("signed_in_home", reverse("home"), session_cookie(setup["member"])),
    ] + [(name, url, session_cookie(user)) for name, url, user in pages(setup)]
    run = load_wrk if tool == "wrk" else load_python
    results = []
    try:
        for name, path, cookie in targets:
            status, body = fetch(port, path, cookie)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status} under gunicorn")
            run(port, path, cookie, clients, min(3, seconds))  # warm every worker's caches
            result = run(port, path, cookie, clients, seconds)
            results.append({"name": name, "url": path, **result})
    finally:
        stop(proc)
    return results


# --- Report ---------------------------------------------------------------------------------------


def report(setup, steps, timings, loads, *, clients, seconds, workers, tool):
    agg = setup["agg"]
    print()
    print("Dashboard page benchmark")
    print(
        f"  data: {agg.pcn_count:,} PCNs, {agg.practice_count:,} practices; IMD {agg.edition.year}, "
        f"extract {agg.snapshot.extract_date}; aggregates computed in {agg.duration_ms / 1000:.1f} s"
    )
    for step in steps:
        print(f"  {step}")
    print(
        f"  ICB overview: {setup['icb'].code} ({setup['icb'].display_name}); PCN dashboard: {setup['pcn'].code}"
    )
    print()
    print(f"{'page':<10}{'p50 ms':>10}{'p95 ms':>10}{'queries':>9}{'warm q.':>9}{'KB':>8}  url")
    for t in timings:
        print(
            f"{t['name']:<10}{t['p50']:>10.1f}{t['p95']:>10.1f}{t['queries']:>9}{t['warm_queries']:>9}"
            f"{t['bytes'] / 1024:>8.0f}  {t['url']}"
        )
    if loads:
        trivial = next(r for r in loads if r["name"] == "trivial")["rps"]
        print()
        print(
            f"load: {clients} concurrent clients x {seconds} s per page, gunicorn {workers} sync workers, {tool}"
        )
        print(
            f"{'page':<10}{'req/s':>10}{'% trivial':>11}{'p50 ms':>10}{'p95 ms':>10}{'requests':>10}{'errors':>8}"
        )
        for r in loads:
            print(
                f"{r['name']:<10}{r['rps']:>10.1f}{100 * r['rps'] / trivial:>10.0f}%{r['p50']:>10.1f}"
                f"{r['p95']:>10.1f}{r['requests']:>10,}{r['errors']:>8}"
            )
    print()
    for t in timings:
        print(f"page={t['name']} p50_ms={t['p50']:.1f} p95_ms={t['p95']:.1f} queries={t['queries']}")
    for r in loads:
        print(f"load={r['name']} rps={r['rps']:.1f} p95_ms={r['p95']:.1f} errors={r['errors']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practices", type=int, default=6_300)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60, help="per page in the load run (at most 120)")
    # gunicorn's own recommendation: 2 x cores + 1 (sync workers wait on the database too).
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn load run")
    args = parser.parse_args(argv)
    seconds = max(1, min(args.seconds, 120))
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")

    configure_environment()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # as the Docker image does
    steps = load_data(args.practices)
    setup = bench_users()
    timings = time_pages(setup, requests=args.requests)
    loads = (
        []
        if args.no_load
        else load_run(setup, clients=args.clients, seconds=seconds, workers=args.workers, tool=tool)
    )
    report(
        setup, steps, timings, loads, clients=args.clients, seconds=seconds, workers=args.workers, tool=tool
    )


if __name__ == "__main__":
    main()
