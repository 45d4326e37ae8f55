"""Benchmark: the full administrator report over 10 million incidents, pandas vs DuckDB.

Usage (from the repository root, with the ``bench`` extra installed)::

    .venv/bin/python scripts/bench_stats.py            # generate once, then measure
    .venv/bin/python scripts/bench_stats.py --rows 1000000 --repeat 2

The synthetic incidents (about a year of national dispatches) are written once
to ``var/bench/incidents_<rows>.parquet`` (``var/`` is ignored by git). Each
engine then runs in its own child process, so its peak memory (``ru_maxrss``)
is its own: pandas runs ``hub.statistics.compute.build_report``; DuckDB runs
SQL for the same figures. The timed part is reading the Parquet file plus
computing every table. The parent checks that both engines give the same
figures and prints one Markdown table row per engine.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hub.statistics import compute  # noqa: E402

SEVERITY_SHARES = {"death": 0.005, "severe": 0.08, "moderate": 0.40, "mild": 0.48, "other": 0.035}
# Synthetic: 1,700 stations (an estimate) and 5,334 ambulance units (the 2025 national count).
STATIONS = np.array([f"署{i:04d}" for i in range(1, 1701)], dtype=object)
UNITS = np.array([f"救急{i:04d}" for i in range(1, 5335)], dtype=object)
AGE_BANDS = np.array([f"{a}-{a + 9}" for a in range(0, 110, 10)], dtype=object)
STOP_REASONS = ("カード不携帯", "緊急度が高い", "通信不良", "本人拒否", "資格情報なし")


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` synthetic incidents to a Parquet file, 1 million rows per row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    writer = None
    chunks = range(0, rows, 1_000_000)
    for number, start in enumerate(chunks):
        frame = _chunk(rng, min(1_000_000, rows - start), number / len(chunks), (number + 1) / len(chunks))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)

    if writer is not None:
        writer.close()


def _chunk(rng: np.random.Generator, n: int, year_from: float, year_to: float) -> pd.DataFrame:
    """Return ``n`` incidents whose calls fall in [year_from, year_to) of 2025, in call order.

    Call order is how a dispatch system exports a year of incidents.
    """
    year_start = pd.Timestamp("2025-01-01T00:00:00+09:00").tz_convert("UTC")
    year_seconds = 365 * 86400
    offsets = np.sort(rng.integers(int(year_from * year_seconds), int(year_to * year_seconds), n))
    call = year_start + pd.to_timedelta(offsets, unit="s")
    response = rng.lognormal(np.log(560), 0.35, n).round()
    scene = rng.gamma(4.0, 300.0, n).round()
    scene[rng.random(n) < 0.001] *= -1  # reversed entries, counted as invalid
    transport_and_handover = rng.gamma(5.0, 240.0, n).round()

    arrived = call + pd.to_timedelta(response, unit="s")
    departed = arrived + pd.to_timedelta(scene, unit="s")
    handover = departed + pd.to_timedelta(transport_and_handover, unit="s")

    inquiries = rng.geometric(0.62, n).astype("float64")
    inquiries[rng.random(n) < 0.08] = 0
    inquiries[rng.random(n) < 0.01] = np.nan

    attempted = rng.random(n) < 0.35
    present = attempted & (rng.random(n) < 0.55)
    read = present & (rng.random(n) < 0.95)
    linked = read & (rng.random(n) < 0.9)
    viewed = linked & (rng.random(n) < 0.92)

    frame = pd.DataFrame(
        {
            "station": STATIONS[rng.integers(0, len(STATIONS), n)],
            "unit": UNITS[rng.integers(0, len(UNITS), n)],
            "age_band": AGE_BANDS[rng.integers(0, len(AGE_BANDS), n)],
            "severity": rng.choice(list(SEVERITY_SHARES), n, p=list(SEVERITY_SHARES.values())),
            "reported_at": call,
            "call_received": _with_missing(rng, pd.Series(call), 0.002),
            "arrived_scene": _with_missing(rng, pd.Series(arrived), 0.02),
            "departed_scene": _with_missing(rng, pd.Series(departed), 0.03),
            "handover": _with_missing(rng, pd.Series(handover), 0.05),
            "inquiry_count": inquiries,
            "myna_attempted": attempted,
            "myna_card_present": present,
            "myna_card_read": read,
            "myna_linked": linked,
            "myna_viewed": viewed,
            "myna_consent_mode": np.where(viewed, rng.choice(["verbal", "emergency", "pin"], n, p=[0.8, 0.18, 0.02]), None),
            "myna_stop_reason": np.where(attempted & ~viewed, rng.choice(STOP_REASONS, n), None),
        }
    )
    frame.loc[rng.random(n) < 0.01, "severity"] = None
    frame.loc[rng.random(n) < 0.005, "station"] = None
    return frame


def _with_missing(rng: np.random.Generator, times: pd.Series, share: float) -> pd.Series:
    return times.mask(rng.random(len(times)) < share)


TEXT_COLUMNS = ("station", "unit", "age_band", "severity", "myna_consent_mode", "myna_stop_reason")


def run_pandas(path: Path) -> dict:
    import pyarrow.parquet as pq

    # Text columns stay dictionary-encoded (pandas categoricals), as Parquet stores them.
    frame = pq.read_table(path, read_dictionary=list(TEXT_COLUMNS)).to_pandas(split_blocks=True, self_destruct=True)
    report = compute.build_report(frame, "ALL")
    return {
        "intervals": report.intervals,
        "inquiry_distribution": report.inquiry_distribution["count"],
        "scene_distribution": report.scene_distribution["count"],
        "difficult": report.difficult["count"],
        "myna_funnel": report.myna_funnel["count"],
        "scene_by_card": report.scene_by_card,
        **{f"by_{dimension}": table for dimension, table in report.breakdowns.items()},
    }


DUCKDB_DERIVED = """
CREATE OR REPLACE TEMP VIEW d AS
WITH raw AS (
    SELECT *,
        epoch(arrived_scene) - epoch(call_received) AS response_raw,
        epoch(handover) - epoch(call_received) AS hospital_raw,
        epoch(departed_scene) - epoch(arrived_scene) AS scene_raw
    FROM read_parquet('{path}')
)
SELECT
    CASE WHEN response_raw >= 0 THEN response_raw END AS response_s,
    CASE WHEN hospital_raw >= 0 THEN hospital_raw END AS hospital_s,
    CASE WHEN scene_raw >= 0 THEN scene_raw END AS scene_s,
    coalesce(response_raw < 0, false) AS response_invalid,
    coalesce(hospital_raw < 0, false) AS hospital_invalid,
    coalesce(scene_raw < 0, false) AS scene_invalid,
    inquiry_count,
    coalesce(inquiry_count >= 4 AND scene_raw >= 1800, false) AS difficult,
    coalesce(inquiry_count >= 4 OR inquiry_count IS NULL, false) AND coalesce(scene_raw >= 1800 OR scene_raw IS NULL OR scene_raw < 0, false)
        AND NOT coalesce(inquiry_count >= 4 AND scene_raw >= 1800, false) AS difficult_undetermined,
    myna_attempted AS s1,
    myna_attempted AND myna_card_present AS s2,
    myna_attempted AND myna_card_present AND myna_card_read AS s3,
    myna_attempted AND myna_card_present AND myna_card_read AND myna_linked AS s4,
    myna_attempted AND myna_card_present AND myna_card_read AND myna_linked AND myna_viewed AS s5,
    coalesce(year(coalesce(call_received, reported_at) + INTERVAL 9 HOUR) * 100
             + month(coalesce(call_received, reported_at) + INTERVAL 9 HOUR), -1) AS month,
    station, unit, severity, age_band
FROM raw
"""

DUCKDB_SUMS = """
SELECT {key} AS key, count(*) AS incidents,
    coalesce(sum(response_s), 0) AS response_sum, count(response_s) AS response_n,
    coalesce(sum(hospital_s), 0) AS hospital_sum, count(hospital_s) AS hospital_n,
    coalesce(sum(scene_s), 0) AS scene_sum, count(scene_s) AS scene_n,
    count_if(difficult) AS difficult, count_if(difficult_undetermined) AS difficult_undetermined,
    count_if(s1) AS myna_attempted, count_if(s5) AS myna_viewed
FROM d GROUP BY {key}
"""


def run_duckdb(path: Path) -> dict:
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(DUCKDB_DERIVED.format(path=str(path).replace("'", "''")))
    # Materialise the derived columns once, as the pandas side does.
    connection.execute("CREATE TEMP TABLE t AS SELECT * FROM d")
    query = lambda sql: connection.execute(sql.replace("FROM d", "FROM t")).fetchdf()  # noqa: E731

    result = {}
    totals = query(
        """SELECT count(*) AS n,
        count(response_s) AS rn, count_if(response_invalid) AS ri, avg(response_s) / 60 AS rm,
        count(hospital_s) AS hn, count_if(hospital_invalid) AS hi, avg(hospital_s) / 60 AS hm,
        count(scene_s) AS sn, count_if(scene_invalid) AS si, avg(scene_s) / 60 AS sm,
        count_if(difficult) AS dc, count_if(difficult_undetermined) AS du,
        count_if(s1) AS f1, count_if(s2) AS f2, count_if(s3) AS f3, count_if(s4) AS f4, count_if(s5) AS f5
        FROM d"""
    ).iloc[0]
    rows = {}
    for key, (label, _start, _end) in compute.INTERVALS.items():
        counted, invalid = int(totals[f"{key[0]}n"]), int(totals[f"{key[0]}i"])
        rows[label] = {"n": counted, "missing": int(totals["n"]) - counted - invalid, "invalid": invalid, "mean_min": float(totals[f"{key[0]}m"])}
    result["intervals"] = pd.DataFrame.from_dict(rows, orient="index")

    result["inquiry_distribution"] = _duck_bins(query, "inquiry_count", compute.INQUIRY_BINS, 1)
    result["scene_distribution"] = _duck_bins(query, "scene_s", compute.SCENE_BINS_MIN, 60)
    result["difficult"] = pd.Series(
        [int(totals["dc"]), int(totals["n"] - totals["dc"] - totals["du"]), int(totals["du"])],
        index=["救急搬送困難事案", "非該当", "判定不能(記録なし)"],
    )
    result["myna_funnel"] = pd.Series([int(totals[f"f{i}"]) for i in range(1, 6)], index=[label for _c, label in compute.MYNA_STEPS])

    by_card = query(
        """SELECT CASE WHEN s5 THEN 'マイナ救急で閲覧' WHEN s1 THEN '試みたが閲覧せず' ELSE '試みず' END AS grp,
        count(*) AS incidents, count(scene_s) AS n, avg(scene_s) / 60 AS mean_min FROM d GROUP BY grp"""
    ).set_index("grp")
    by_card["excluded"] = by_card["incidents"] - by_card["n"]
    result["scene_by_card"] = by_card

    for dimension in compute.DIMENSIONS:
        sums = query(DUCKDB_SUMS.format(key=dimension)).set_index("key")
        result[f"by_{dimension}"] = compute.breakdown_from_sums(sums, dimension)

    return result


def _duck_bins(query, column: str, bins: tuple[tuple[str, float], ...], divisor: int) -> pd.Series:
    cases = " ".join(f"WHEN {column} >= {lower * divisor} THEN {index}" for index, (_l, lower) in reversed(list(enumerate(bins))))
    counts = query(f"SELECT CASE {cases} ELSE {len(bins)} END AS bin, count(*) AS c FROM d GROUP BY bin").set_index("bin")["c"]
    labels = [label for label, _lower in bins] + [compute.MISSING_BIN_LABEL]
    return pd.Series([int(counts.get(index, 0)) for index in range(len(labels))], index=labels)


def child(engine: str, path: Path, output: Path) -> None:
    started = time.perf_counter()
    result = run_pandas(path) if engine == "pandas" else run_duckdb(path)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    output.write_bytes(pickle.dumps(result))
    print(json.dumps({"engine": engine, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def compare_results(ours: dict, theirs: dict) -> list[str]:
    """Return the names of the tables whose figures differ (means within 1e-6 minutes)."""
    differing = []
    for name, table in ours.items():
        other = theirs[name]
        if isinstance(table, pd.DataFrame):
            other = other.loc[table.index, table.columns]
        else:
            other = other.loc[table.index]
        left = np.asarray(table, dtype="float64")
        right = np.asarray(other, dtype="float64")
        if not np.allclose(left, right, rtol=0, atol=1e-6, equal_nan=True):
            differing.append(name)

    return differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (each in a fresh process)")
    parser.add_argument("--child", choices=("pandas", "duckdb"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    path = REPO / "var" / "bench" / f"incidents_{args.rows}.parquet"
    if args.child:
        child(args.child, path, args.output)
        return 0

    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} incidents in {time.perf_counter() - started:.0f} s: {path}", file=sys.stderr)

    measurements, results = [], {}
    for run in range(args.repeat):
        for engine in ("duckdb", "pandas"):
            output = path.with_suffix(f".{engine}.pickle")
            completed = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--child", engine, "--output", str(output)],
                check=True, capture_output=True, text=True,
            )
            measurements.append(json.loads(completed.stdout.strip().splitlines()[-1]) | {"run": run + 1})
            results[engine] = pickle.loads(output.read_bytes())

    differing = compare_results(results["pandas"], results["duckdb"])
    print("| run | engine | time (s) | peak RSS (MiB) |")
    print("|---|---|---|---|")
    for row in measurements:
        print(f"| {row['run']} | {row['engine']} | {row['seconds']:.2f} | {row['peak_mib']:.0f} |")
    print("same figures: " + ("yes" if not differing else "NO, differing tables: " + ", ".join(differing)))
    return 0 if not differing else 1


if __name__ == "__main__":
    sys.exit(main())
