"""A village phone's first sync costs the same whatever the size of the district.

Two stores: 10 000 and 1 000 000 documents over 1 000 villages; in both the cadre's own village
holds the same 200 documents. A fresh PouchDB phone pulls its village from each; the ratio of the
two times is the figure (1.0 = the store's size does not matter).

    .venv/bin/python bench/scope_pull.py [--store sqlite|postgresql] [--large 1000000]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import json
import subprocess
import sys

from common import REPO, ServerProcess, Stores, median, save, timed_pulls

OWN_DOCS = 200


def run_one(stores: Stores, kind: str, total: int) -> dict:
    url = stores.new(kind)
    # Seeded straight into SQL by bench/seed.py (the same rows the engine writes; ~100 s for 1M on
    # SQLite instead of 240-440 s through the engine): village 0 holds OWN_DOCS, the rest is spread
    # over 1 000 other villages; it also makes the account bench-cadre of village 0.
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "seed.py"), url, "--docs", str(total),
                           "--own-docs", str(OWN_DOCS), "--accounts", "0"], capture_output=True, text=True, check=True)
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    server = ServerProcess(url, name=f"bench-scope-{kind}-{total}").start()
    try:
        times, pulled = timed_pulls(server.url, "bench-cadre")
    finally:
        server.stop()
    assert pulled == OWN_DOCS, f"pulled {pulled}, expected {OWN_DOCS}"
    return {"store_docs": total, "seed_seconds": round(seconds, 1), "pulled": pulled,
            "pull_seconds": [round(t, 3) for t in times], "median_seconds": round(median(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = Stores(Path(tmp))
        try:
            small = run_one(stores, args.store, args.small)
            large = run_one(stores, args.store, args.large)
        finally:
            stores.close()
    ratio = large["median_seconds"] / small["median_seconds"]
    print(f"\nInitial pull of one village ({OWN_DOCS} docs) by a real PouchDB phone, store: {args.store}")
    print(f"{'store size':>12} {'seed (s)':>9} {'pull median (s)':>16} {'runs':>22}")
    for row in (small, large):
        print(f"{row['store_docs']:>12,} {row['seed_seconds']:>9} {row['median_seconds']:>16} "
              f"{str(row['pull_seconds']):>22}")
    print(f"ratio large/small: {ratio:.2f}  (1.00 = the size of the district does not matter)")
    path = save(f"scope_pull-{args.store}", {"benchmark": "scope_pull", "store": args.store,
                                              "small": small, "large": large, "ratio": round(ratio, 3)})
    print(f"saved {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
