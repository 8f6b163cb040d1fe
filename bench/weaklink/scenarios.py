"""What a phone does over the slow link, and how: each scenario lists its client paths, one function
each, so another way of doing the same (the field app's: small documents by replication, the photo
by a resumable upload) is one more entry in `paths`, and one more column in the table."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .control import SimulatedLink
from .http_stream import Exchange
from .outage import Cut
from .servers import PHONE_JS, Side, node

VILLAGE_DOCS = 200
SMALL_DOCS = 5
PHOTO_BYTES = 200 * 1024
CUT_INTO_PHOTO = 100_000
OUTAGE_S = 5.0


@dataclass
class Trial:
    """One run of a client path: the server, its database's URL through the link, a fresh phone."""
    side: Side
    remote: str
    phone_dir: Path
    tag: str
    link: SimulatedLink


ClientPath = Callable[[Trial], dict]  # returns the phone's figures: {"seconds", "attempts", ...}


@dataclass
class Scenario:
    key: str
    label: str  # for the table
    title: str
    paths: dict[str, ClientPath]
    cut: Cut | None = None  # planned on the link before the phone starts


def carries_photo(exchange: Exchange) -> bool:
    """The request that uploads the photo: a body at least the photo's size (PouchDB's `_bulk_docs`
    carries it base64-encoded, inline). A path that uploads in smaller pieces needs its own test."""
    return (exchange.request_body_length or 0) >= PHOTO_BYTES


# -- plain PouchDB replication (pouchdb-node, as bench/node/bench.js) ----------------------------------
def pouchdb_first_pull(trial: Trial) -> dict:
    out = node(PHONE_JS, "pull", {"dir": str(trial.phone_dir), "remote": trial.remote, "auth": trial.side.auth,
                                  "area": trial.side.pull_area, "batch_size": 100})
    if out["local_docs"] != VILLAGE_DOCS:
        raise AssertionError(f"{trial.side.name}: the phone has {out['local_docs']} docs, not {VILLAGE_DOCS}")
    return out


def pouchdb_push_round(trial: Trial) -> dict:
    out = node(PHONE_JS, "push_round", {"dir": str(trial.phone_dir), "remote": trial.remote, "auth": trial.side.auth,
                                        "tag": trial.tag, "user": trial.side.user, "small_docs": SMALL_DOCS,
                                        "photo_bytes": PHOTO_BYTES, "retry_every_s": 1, "give_up_s": 300})
    written = out["result"]["docs_written"]
    if written != SMALL_DOCS or out["result"]["doc_write_failures"]:
        raise AssertionError(f"{trial.side.name}: {written} of {SMALL_DOCS} docs written: {out['result']}")
    return out


def field_app_round(trial: Trial) -> dict:
    out = node(PHONE_JS, "field_round", {"dir": str(trial.phone_dir), "remote": trial.remote, "auth": trial.side.auth,
                                         "tag": trial.tag, "user": trial.side.user, "small_docs": SMALL_DOCS,
                                         "photo_bytes": PHOTO_BYTES, "retry_every_s": 1, "give_up_s": 300})
    return out


field_app_round.paicha_only = True  # the resumable upload is Paicha's: pouchdb-server has none


def carries_photo_piece(exchange: Exchange) -> bool:
    """The request carrying the photo either way: PouchDB's `_bulk_docs`, or the tus upload's PATCH."""
    return carries_photo(exchange) or (exchange.method == "PATCH" and "/_uploads/" in exchange.path)


SCENARIOS = [
    Scenario("1_first_sync", "1 village's first sync", f"a new phone's first sync of its village ({VILLAGE_DOCS} docs)",
             {"pouchdb": pouchdb_first_pull}),
    Scenario("2_round_pushed", "2 round with a photo", f"a round pushed: {SMALL_DOCS} docs, one with a {PHOTO_BYTES // 1024} KB photo",
             {"pouchdb": pouchdb_push_round, "field_app": field_app_round}),
    Scenario("3_round_cut", "3 the same, cut", f"the same, link cut {CUT_INTO_PHOTO // 1000} KB into the photo, back after "
                            f"{OUTAGE_S:.0f} s", {"pouchdb": pouchdb_push_round, "field_app": field_app_round},
             cut=Cut(outage_s=OUTAGE_S, after_bytes_up=CUT_INTO_PHOTO, armed_by=carries_photo_piece)),
]
