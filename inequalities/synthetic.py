"""A seeded, synthetic England-size GP registrations file in the real published layout, and a
practice map that matches it, for the demo and the import benchmark.

Every practice draws its patients from a contiguous cluster of real LSOAs (from the IoD2025 File
1 in `data/open`, ordered by local authority and code, so neighbouring LSOAs are near each other
and the deprivation mix is realistic). List sizes are log-normal, 1,000 to 40,000 (median ~8,500);
the cluster grows with the list, giving ~190 LSOAs per practice and ~1.2 M practice x LSOA rows
for 6,300 practices. A few rows carry a blank or Welsh LSOA, as real extracts do. Practices are
grouped in order into PCNs (5 each), sub-ICB locations, ICBs and regions, so organisations are
geographically coherent. Codes are valid ODS-shaped codes; names say SYNTHETIC.
"""

import gzip
import io
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

IMD_FILE = "File_1_IoD2025_Index_of_Multiple_Deprivation_IMD25.csv.gz"
REGISTRATIONS = "gp-reg-pat-prac-lsoa-all.csv"
PRACTICE_MAP = "gp-reg-pat-prac-map.csv"
EXTRACT_DATE = date(2025, 10, 1)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def real_lsoas(path=None) -> pd.DataFrame:
    path = Path(path or settings.BASE_DIR / "data" / "open" / IMD_FILE)
    with gzip.open(path, "rt", encoding="utf-8-sig") if path.suffix == ".gz" else open(path) as fh:
        frame = pd.read_csv(fh, dtype=str, usecols=[0, 2])
    frame.columns = ["lsoa", "lad"]
    return frame.sort_values(["lad", "lsoa"]).reset_index(drop=True)


def _sizes(n, rng):
    return np.clip(rng.lognormal(mean=np.log(8_500), sigma=0.6, size=n), 1_000, 40_000).astype(np.int64)


def generate(out_dir, *, practices=6_300, seed=2025, imd_path=None) -> dict:
    """Write the registrations file and the practice map into `out_dir`; return their paths and
    counts."""
    rng = np.random.default_rng(seed)
    lsoas = real_lsoas(imd_path)["lsoa"].to_numpy()
    n_lsoa = len(lsoas)
    n = int(practices)
    n_pcn = max(1, round(n / 5))
    n_sub = max(1, min(106, n_pcn // 12))
    n_icb = max(1, min(42, round(n_sub / 2.5)))
    n_region = max(1, min(7, n_icb // 6))

    codes = np.array([f"S{i:05d}" for i in range(n)])
    sizes = _sizes(n, rng)
    centres = (np.arange(n) + 0.5) / n * n_lsoa + rng.normal(0, 3, n)
    widths = np.clip(sizes / 52, 20, 700).astype(np.int64)
    prac_idx, lsoa_idx, counts = [], [], []
    for i in range(n):
        lo = int(np.clip(centres[i] - widths[i] / 2, 0, n_lsoa - widths[i]))
        cells = np.arange(lo, lo + widths[i])
        distance = np.abs(cells - centres[i]) / max(widths[i] / 4, 1)
        weights = np.exp(-distance) + 0.05
        drawn = rng.multinomial(sizes[i], weights / weights.sum())
        keep = drawn > 0
        prac_idx.append(np.full(int(keep.sum()), i))
        lsoa_idx.append(cells[keep])
        counts.append(drawn[keep])
    prac_idx = np.concatenate(prac_idx)
    frame = pd.DataFrame(
        {
            "PUBLICATION": "GP_PRAC_PAT_LIST",
            "EXTRACT_DATE": EXTRACT_DATE.strftime("%d%b%Y").upper(),
            "PRACTICE_CODE": codes[prac_idx],
            "PRACTICE_NAME": [f"SYNTHETIC PRACTICE {i:05d}" for i in prac_idx],
            "LSOA_CODE": lsoas[np.concatenate(lsoa_idx)],
            "SEX": "ALL",
            "NUMBER_OF_PATIENTS": np.concatenate(counts),
        }
    )
    # Unknown-deprivation rows, as in real extracts: blank LSOA for ~30% of practices, Welsh ~5%.
    extra = []
    for share, make in (
        (0.30, lambda k: ""),
        (0.05, lambda k: f"W01{k:06d}"),
    ):
        chosen = np.flatnonzero(rng.random(n) < share)
        extra.append(
            pd.DataFrame(
                {
                    "PUBLICATION": "GP_PRAC_PAT_LIST",
                    "EXTRACT_DATE": EXTRACT_DATE.strftime("%d%b%Y").upper(),
                    "PRACTICE_CODE": codes[chosen],
                    "PRACTICE_NAME": [f"SYNTHETIC PRACTICE {i:05d}" for i in chosen],
                    "LSOA_CODE": [make(int(k)) for k in rng.integers(1, 1_900, len(chosen))],
                    "SEX": "ALL",
                    "NUMBER_OF_PATIENTS": rng.integers(1, 25, len(chosen)),
                }
            )
        )
    frame = pd.concat([frame, *extra], ignore_index=True)
    frame = frame.sort_values(["PRACTICE_CODE", "LSOA_CODE"], kind="stable")

    pcn_of = np.arange(n) * n_pcn // n
    sub_of_pcn = np.arange(n_pcn) * n_sub // n_pcn
    icb_of_sub = np.arange(n_sub) * n_icb // n_sub
    region_of_icb = np.arange(n_icb) * n_region // n_icb

    def sub_code(j):
        return f"{ALPHABET[j // 36]}{ALPHABET[j % 36]}Z"

    def icb_code(j):
        return f"Q{ALPHABET[j // 36]}{ALPHABET[j % 36]}"

    pcn = pcn_of
    sub = sub_of_pcn[pcn]
    icb = icb_of_sub[sub]
    region = region_of_icb[icb]
    practice_map = pd.DataFrame(
        {
            "PUBLICATION": "GP_PRAC_PAT_LIST",
            "EXTRACT_DATE": EXTRACT_DATE.strftime("%d%b%Y"),
            "PRACTICE_CODE": codes,
            "PRACTICE_NAME": [f"SYNTHETIC PRACTICE {i:05d}" for i in range(n)],
            "PRACTICE_POSTCODE": [f"ZZ{i % 99 + 1} {i % 9}ZZ" for i in range(n)],
            "ONS_SUB_ICB_LOCATION_CODE": [f"E38{900000 + j:06d}" for j in sub],
            "SUB_ICB_LOCATION_CODE": [sub_code(j) for j in sub],
            "SUB_ICB_LOCATION_NAME": [f"NHS SYNTHETIC SUB ICB LOCATION {j:03d}" for j in sub],
            "ONS_ICB_CODE": [f"E54{900000 + j:06d}" for j in icb],
            "ICB_CODE": [icb_code(j) for j in icb],
            "ICB_NAME": [f"NHS SYNTHETIC {j:02d} INTEGRATED CARE BOARD" for j in icb],
            "ONS_COMM_REGION_CODE": [f"E40{900000 + j:06d}" for j in region],
            "COMM_REGION_CODE": [f"Y{70 + j}" for j in region],
            "COMM_REGION_NAME": [f"SYNTHETIC REGION {j + 1}" for j in region],
            "PCN_CODE": [f"U{90000 + j:05d}" for j in pcn],
            "PCN_NAME": [f"SYNTHETIC {j:04d} PCN" for j in pcn],
            "SUPPLIER_NAME": np.where(rng.random(n) < 0.6, "EMIS", "TPP"),
        }
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reg_path = out_dir / REGISTRATIONS
    map_path = out_dir / PRACTICE_MAP
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    reg_path.write_text(buf.getvalue(), encoding="utf-8")
    practice_map.to_csv(map_path, index=False, lineterminator="\n")
    return {
        "registrations": reg_path,
        "practice_map": map_path,
        "rows": len(frame),
        "practices": n,
        "pcns": n_pcn,
        "sub_icbs": n_sub,
        "icbs": n_icb,
        "regions": n_region,
        "patients": int(frame["NUMBER_OF_PATIENTS"].sum()),
    }
