"""Latency and memory of the offline UK geocoder; prints numbers, asserts nothing.

Run from the repository root:

    python bench/geocoder_bench.py [--lookups 3000] [--max-cached-areas 32]

Addresses are real postcodes sampled evenly from every area file, dressed up
as free-text addresses, plus a share of unknown units (sector fallback). The
cold pass starts with an empty cache, so an area's first lookup pays for
parsing it; the warm pass repeats the same addresses in another order. With
fewer cached areas than areas in use the warm pass still re-parses evicted
areas, which is the figure to watch when sizing ``max_cached_areas``.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import pathlib
import random
import resource
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from infrastructure.geocoding.offline_uk import OfflineGeocodeHit, OfflineUkGeocoder, default_data_dir

# Share of sampled postcodes turned into unknown units to exercise the sector fallback.
UNKNOWN_UNIT_SHARE = 0.125


def main() -> None:
    args = _parse_args()
    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("UK postcode data missing from this install (infrastructure/geocoding/codepointopen)")
    addresses = _sample_addresses(data_dir, args.lookups, random.Random(args.seed))
    gc.collect()
    rss_before = _rss_mib()

    geocoder = OfflineUkGeocoder(max_cached_areas=args.max_cached_areas)
    cold, first_in_area = _timed_pass(geocoder, addresses)
    random.Random(args.seed + 1).shuffle(addresses)
    warm, _ = _timed_pass(geocoder, addresses)
    gc.collect()
    rss_after = _rss_mib()

    hits = sum(isinstance(geocoder.geocode(a), OfflineGeocodeHit) for a in addresses)
    print(f"lookups per pass: {len(addresses)}, hits: {hits}, cache: {args.max_cached_areas} areas")
    _report("cold pass, all lookups", cold)
    _report("cold pass, first lookup in an area (parse)", [cold[i] for i in first_in_area])
    _report("cold pass, lookups in an already parsed area", [t for i, t in enumerate(cold) if i not in first_in_area])
    _report("warm pass, all lookups", warm)
    print(
        f"RSS: {rss_before:.1f} MiB before the geocoder, {rss_after:.1f} MiB after "
        f"({rss_after - rss_before:+.1f} MiB for {len(geocoder.cached_areas)} cached areas)"
    )


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--max-cached-areas", type=int, default=32)
    parser.add_argument("--seed", type=int, default=20240722)
    return parser.parse_args()


def _sample_addresses(data_dir: pathlib.Path, count: int, rng: random.Random) -> list[str]:
    """Real postcodes from every area, one in eight replaced by an unknown unit."""
    files = sorted(data_dir.glob("*.csv.gz"))
    per_area = max(1, count // len(files))
    addresses: list[str] = []
    for path in files:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        postcodes = [line.split(",", 1)[0] for line in text.splitlines()]
        for sampled in rng.sample(postcodes, min(per_area, len(postcodes))):
            unknown_unit = rng.random() < UNKNOWN_UNIT_SHARE
            postcode = sampled[:-2] + "ZZ" if unknown_unit else sampled
            addresses.append(f"{rng.randint(1, 200)} High Street, Sometown {postcode}, UK")
    rng.shuffle(addresses)
    return addresses[:count]


def _timed_pass(geocoder: OfflineUkGeocoder, addresses: list[str]) -> tuple[list[float], set[int]]:
    """Per-lookup seconds, and the indices whose lookup had to parse an area."""
    timings: list[float] = []
    parsed: set[int] = set()
    for i, address in enumerate(addresses):
        cached_before = set(geocoder.cached_areas)
        start = time.perf_counter()
        geocoder.geocode(address)
        timings.append(time.perf_counter() - start)
        if set(geocoder.cached_areas) - cached_before:
            parsed.add(i)
    return timings, parsed


def _report(label: str, seconds: list[float]) -> None:
    if not seconds:
        print(f"{label}: none")
        return
    ms = sorted(s * 1000.0 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"{label}: n={len(ms)} mean={statistics.fmean(ms):.3f} ms "
        f"p50={statistics.median(ms):.3f} p95={p95:.3f} p99={p99:.3f} max={ms[-1]:.3f} ms"
    )


def _rss_mib() -> float:
    """Current resident set size; falls back to the peak where /proc is absent."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


if __name__ == "__main__":
    main()
