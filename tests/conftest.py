"""Shared fixtures: a small two-ICB world with a user for every role, a real Celery worker
process (when REDIS_URL is set), and Playwright driving Debian's Chromium."""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from inequalities.models import Role
from tests.cache import clear_portal_cache
from tests.factories import ICBFactory, PCNFactory, RegionFactory, SubICBFactory, practice_in, user_with_role

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "test-artifacts"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty portal cache: the database is rolled back between tests
    without model signals, so entries built from one test's rows (the current aggregate set, an
    organisation looked up by code) must not reach the next."""
    clear_portal_cache()


@dataclass
class World:
    icb: object
    other_icb: object
    pcn: object
    sibling_pcn: object  # same ICB as pcn
    other_pcn: object  # in other_icb
    users: dict  # role name -> user, all on pcn / icb


@pytest.fixture
def world(db):
    region = RegionFactory(code="Y62", name="NORTH WEST")
    icb = ICBFactory(code="QE1", name="HEALTHIER LANCASHIRE AND SOUTH CUMBRIA", region=region)
    other_icb = ICBFactory(code="QHM", name="CUMBRIA AND NORTH EAST", region=RegionFactory(code="Y63"))
    sub = SubICBFactory(code="00Q", name="NHS BLACKBURN WITH DARWEN CCG", icb=icb)
    pcn = PCNFactory(code="U34816", name="BLACKBURN WEST PCN", sub_icb=sub)
    sibling = PCNFactory(code="U88348", name="DARWEN PCN", sub_icb=sub)
    other = PCNFactory(code="U89141", name="STOCKTON PCN", sub_icb=SubICBFactory(code="16C", icb=other_icb))
    for p in (pcn, sibling, other):
        practice_in(p)
    users = {
        "clinical_director": user_with_role(Role.CLINICAL_DIRECTOR, pcn=pcn, username="cd@example.nhs.uk"),
        "hi_lead": user_with_role(Role.HI_LEAD, pcn=pcn, username="lead@example.nhs.uk"),
        "pcn_member": user_with_role(Role.PCN_MEMBER, pcn=pcn, username="member@example.nhs.uk"),
        "icb_analyst": user_with_role(Role.ICB_ANALYST, icb=icb, username="analyst@example.nhs.uk"),
        "commissioner": user_with_role(Role.COMMISSIONER, icb=icb, username="commissioner@example.nhs.uk"),
        "administrator": user_with_role(Role.ADMINISTRATOR, username="admin@example.nhs.uk"),
        "no_role": user_with_role(Role.PCN_MEMBER, pcn=other, username="elsewhere@example.nhs.uk"),
    }
    return World(icb=icb, other_icb=other_icb, pcn=pcn, sibling_pcn=sibling, other_pcn=other, users=users)


# --- A real Celery worker ------------------------------------------------------------------------


def _require_or_skip(env_flag, reason):
    if os.environ.get(env_flag) == "1":
        pytest.fail(f"{reason} ({env_flag}=1 forbids skipping)")
    pytest.skip(reason)


def start_worker(database_name, *, concurrency=1, extra_env=None):
    """Start `celery worker` in a subprocess against the test database; return the Popen."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{db['USER'] or 'postgres'}@{host}:{port}/{database_name}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PCN_PORTAL_TESTING": "1",
        "DB_CONN_MAX_AGE": "0",
        **(extra_env or {}),
    }
    log = open(ARTIFACTS / f"worker-{time.time_ns()}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pcn_portal",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}-{time.time_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log_file = log
    deadline = time.time() + 60
    from pcn_portal.celery import app

    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Celery worker exited early; see {log.name}")
        replies = app.control.ping(timeout=1.0) or []
        if any(proc_name.startswith("test-") for reply in replies for proc_name in reply):
            return proc
    proc.kill()
    raise RuntimeError(f"Celery worker did not answer within 60 s; see {log.name}")


def stop_worker(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log_file.close()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real worker process consuming from Redis and writing to the test database."""
    from django.conf import settings
    from django.db import connection

    if not settings.REDIS_URL:
        _require_or_skip("REQUIRE_WORKER", "needs REDIS_URL and a Celery worker (run .ci/run)")
    if connection.vendor != "postgresql":
        _require_or_skip("REQUIRE_WORKER", "a worker process needs a shared database server (PostgreSQL)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from pcn_portal.celery import app

    app.control.purge()
    proc = start_worker(connection.settings_dict["NAME"])
    yield proc
    stop_worker(proc)


# --- Playwright + Debian's Chromium --------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser():
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        _require_or_skip("REQUIRE_BROWSER", f"Chromium not installed at {CHROMIUM} (make e2e-setup)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require_or_skip("REQUIRE_BROWSER", "playwright is not installed")
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls made by test
    # code in the same thread are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser, live_server):
    context = chromium_browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def screenshot_dir():
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
