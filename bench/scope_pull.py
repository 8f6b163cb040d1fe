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

from common import ServerProcess, Stores, add_account, median, save, seed_domain, timed_pulls, village_code

OWN_DOCS = 200


def run_one(stores: Stores, kind: str, total: int) -> dict:
    url = stores.new(kind)
    own = village_code(0)
    seconds = seed_domain(url, {own: OWN_DOCS}, filler_villages=1000, filler_docs=total - OWN_DOCS)
    add_account(url, "bench-cadre", "village_cadre", own)
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
