"""Random and adversarial input to /api/v1's writes and to the /ledger and /_geo query parameters
(hypothesis): never a 5xx, every refusal in the endpoint's own error format, and every write that was
accepted reads back exactly as it was sent.

Bodies start from valid records and then get fields replaced, removed or added with hostile values:
lone surrogates, JSON nested thousands deep, numbers beyond a double or beyond 2**53, odd ids,
dates in the years 1 and 9999 with extreme offsets, empty strings, wrong types; some bodies are
random JSON, some not JSON at all. Query parameters get the same treatment, plus numbers beyond 64
bits, percent-encoded bytes that are not UTF-8, and control characters.

Derandomized with a fixed number of examples per test, so a run is repeatable (CI sees the same
inputs every time) and bounded: about ten seconds per store. test_hostile_input.py has the
specific cases with their exact answers.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mobile_api

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

API = "/api/v1"
VILLAGE, VILLAGE2, TOWNSHIP = "990101001001", "990101001002", "990101001"


def fuzz(examples: int):
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    report_multiple_bugs=False, suppress_health_check=list(HealthCheck))


# -- JSON text with what a Python value cannot carry ------------------------------------------------------

@dataclass(frozen=True)
class Raw:
    """JSON text put in as is: numbers Python would change (1e400), NaN, nesting thousands deep."""
    text: str


def dump(value) -> str:
    """JSON text of `value`; strings with every non-ASCII character escaped (so half a character
    goes out as the `\\ud800` escape a client would send)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{dump(str(k))}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=True)


SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"])
OFFSETS = ["Z", "+00:00", "+08:00", "+14:00", "-12:00", "+23:59", "-23:59", "+24:00", "", "+8"]


@st.composite
def timestamps(draw):
    """Mostly well-formed dates and date-times, often at or beyond the years 1 and 9999 or with
    offsets that carry them past the edge of what datetime handles."""
    year = draw(st.sampled_from([1, 9999, 1, 9999, 1, 9999, 2, 9998, 1899, 1900, 2026, 2100, 2101]))
    month, day = draw(st.sampled_from([(1, 1), (12, 31), (1, 1), (12, 31), (11, 20), (2, 30), (13, 1)]))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59", "00:00:00", "23:59:59", "10:00:00.123456789", "24:00:00"]))
    offset = draw(st.sampled_from(["+14:00", "-23:59", "+23:59", "-12:00", "Z", "+08:00", "+24:00", ""]))
    if draw(st.integers(0, 4)) == 0:
        return f"{year:04d}-{month:02d}-{day:02d}"  # a date
    return f"{year:04d}-{month:02d}-{day:02d}T{clock}{offset}"


texts = st.one_of(
    st.text(max_size=12),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), SURROGATES, st.text(max_size=4)),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202e", "\ufeff", "𠀀", "é", "_id", "_design/x", "../x", "a/b",
                     "%00", "null", "true", "0", "990101001001", "demo-village", "x" * 300, "村" * 10001]),
    timestamps(),
)
numbers = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("1e-400"), Raw("1" + "0" * 40), Raw("-" + "9" * 41),
                     Raw("9007199254740991"), Raw("9007199254740992"), Raw("18446744073709551616"), Raw("-0"),
                     Raw("-0.0"), Raw("1E+2"), Raw("0.1e1"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
                     Raw("9" * 5000), Raw("0." + "1" * 5000)]),
)


@st.composite
def deep(draw):
    n = draw(st.sampled_from([31, 32, 33, 100, 1000, 10000]))
    if draw(st.booleans()):
        return Raw("[" * n + "]" * n)
    return Raw('{"a": ' * n + "1" + "}" * n)


leaves = st.one_of(st.none(), st.booleans(), numbers, texts, deep())
keys = st.one_of(st.text(max_size=8), st.sampled_from(["id", "rev", "type", "_id", "_rev", "_deleted",
                                                        "_attachments", "area", "notes", "fix", "\ud800"]))
values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(keys, inner, max_size=3)), max_leaves=6)
odd_ids = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,30}\Z"),
    st.sampled_from(["", "_design/x", "_local/x", "a/b", "x" * 200, "x" * 201, " x", "x ", "\x00", "\ud800",
                     "a\ud800", "..", "%2F", "-x", "é"]),
    st.integers(), st.none(),
)


# -- bodies: valid records, then broken ----------------------------------------------------------------------

def base(collection: str) -> dict:
    doc_id = f"fuzz-{uuid.uuid4().hex[:12]}"
    if collection == "reports":
        return {"id": doc_id, "area": VILLAGE, "round_id": "round-fuzz", "nil_report": True, "summary": "（测试）无"}
    if collection == "disputes":
        return {"id": doc_id, "area": VILLAGE, "summary": "（测试）邻里纠纷", "category": "neighbourhood",
                "parties": [{"name": "张三", "role": "applicant"}], "risk_level": "low", "status": "registered",
                "amount_yuan": 120.5, "occurred_on": "2026-11-19"}
    return {"id": doc_id, "area": VILLAGE, "household_id": f"household-{VILLAGE}-001", "purpose": "routine",
            "visited_at": "2026-11-20T10:00:00+08:00", "notes": "（测试）走访",
            "fix": {"lat": 34.3405, "lon": 108.7176, "crs": "WGS-84", "accuracy_m": 10,
                    "fix_time": "2026-11-20T10:00:00+08:00"}}


FIELDS = {
    "reports": ["id", "area", "round_id", "nil_report", "summary", "disputes", "households_screened",
                "submitted_at", "created_at", "created_by", "type"],
    "disputes": ["id", "area", "summary", "category", "parties", "risk_level", "status", "amount_yuan",
                 "people_involved", "occurred_on", "accepted_at", "resolved_at", "outcome", "round_id"],
    "visits": ["id", "area", "household_id", "purpose", "visited_at", "notes", "fix", "photos", "visitor",
               "dispute_id"],
}
# Where each kind of hostile value can get furthest: free text, dates, numbers (paths into the body).
TEXT = {"reports": [("summary",)], "disputes": [("summary",), ("outcome",), ("category_detail",),
                                                 ("parties", 0, "name")], "visits": [("notes",)]}
DATES = {"reports": [("submitted_at",)], "disputes": [("occurred_on",), ("accepted_at",)],
         "visits": [("visited_at",), ("fix", "fix_time")]}
NUMBERS = {"reports": [("households_screened",)], "disputes": [("amount_yuan",), ("people_involved",)],
           "visits": [("fix", "accuracy_m"), ("fix", "lat"), ("fix", "lon")]}
hostile_text = st.one_of(
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), SURROGATES, st.text(max_size=4)),
    st.text(min_size=1, max_size=12), st.sampled_from(["", "\x00", "a\x00b", "\u202e", "\ufeff", "𠀀", "村" * 10001]),
)


def put(body: dict, path: tuple, value) -> None:
    """Set body[path] if the containers on the way are still there (an earlier change may have gone)."""
    node = body
    try:
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass


@st.composite
def broken(draw, collection: str):
    """A body for POST /<collection> (to `dump`): mostly a valid record with some fields broken,
    sometimes valid, sometimes any JSON value at all."""
    body = base(collection)
    if draw(st.integers(0, 9)) == 0:
        return draw(values)
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.sampled_from(["text", "date", "number", "deep", "set", "drop", "add", "id"]))
        if how == "text":
            put(body, draw(st.sampled_from(TEXT[collection])), draw(hostile_text))
        elif how == "date":
            put(body, draw(st.sampled_from(DATES[collection])), draw(timestamps()))
        elif how == "number":
            put(body, draw(st.sampled_from(NUMBERS[collection])), draw(numbers))
        elif how == "deep":
            put(body, draw(st.sampled_from(TEXT[collection] + NUMBERS[collection])), draw(deep()))
        elif how == "set":
            body[draw(st.sampled_from(FIELDS[collection]))] = draw(values)
        elif how == "drop":
            body.pop(draw(st.sampled_from(FIELDS[collection])), None)
        elif how == "add":
            body[draw(keys)] = draw(values)
        else:
            body["id"] = draw(odd_ids)
    return body


def canonical(text: str):
    """What the server should keep of a body it accepted: the same JSON value."""
    return json.loads(text)


def same(a, b) -> bool:
    """Equal JSON values of the same types (1 is not 1.0 or true; -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


# -- fixtures --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _wired(app):
    mobile_api.init_app(app)


@pytest.fixture(scope="module")
def bearer(app):
    from server.services import tokens
    from server.core.db import db
    from server.core.models import Account

    numbers_ = itertools.count()

    def make(name: str) -> dict:
        with app.app_context():
            account_id = db.session.execute(sa.select(Account.id).where(Account.name == name)).scalar_one()
            db.session.rollback()
            return {"Authorization": "Bearer " + tokens.issue(account_id, f"fuzz-{next(numbers_)}")[0]}

    return make


@pytest.fixture(scope="module")
def village(bearer):
    return bearer("demo-village")


@pytest.fixture(scope="module")
def ledger(app):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ledger/login").text).group(1)
    r = client.post("/ledger/login", data={"name": "demo-district", "password": "demo-password", "csrf_token": token})
    assert r.status_code == 302
    return client


def no_server_error(r, what: str) -> None:
    assert r.status_code < 500, f"{what} -> {r.status_code}: {r.data[:400]!r}"


def api_refusal(r, what: str) -> None:
    no_server_error(r, what)
    if r.status_code >= 400:
        assert r.mimetype == "application/problem+json", (what, r.status_code, r.data[:200])
        body = r.json
        assert body["status"] == r.status_code and body["code"] and body["title"], (what, body)


# -- /api/v1 writes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("collection", ["reports", "disputes", "visits"])
def test_creates_never_fail_and_accepted_ones_read_back_identical(client, village, collection):
    accepted = []

    @fuzz(40)
    @given(body=broken(collection))
    def run(body):
        text = dump(body)
        r = client.post(f"{API}/{collection}", data=text.encode("utf-8"), content_type="application/json",
                        headers=village)
        api_refusal(r, text[:300])
        if r.status_code in (200, 201):
            sent = canonical(text)
            back = client.get(f"{API}/{collection}/{sent['id']}", headers=village)
            assert back.status_code == 200, back.data[:300]
            assert same(back.json, r.json), (r.json, back.json)
            for key, value in sent.items():
                assert same(back.json[key], value), (key, value, back.json.get(key))
            accepted.append(sent["id"])

    run()
    assert accepted, "no body was ever accepted: the fuzzing only tested refusals"


def test_updates_never_fail_and_accepted_ones_read_back_identical(client, village):
    record = base("disputes")
    created = client.post(f"{API}/disputes", json=record, headers=village)
    assert created.status_code == 201
    doc_id = record["id"]

    @fuzz(30)
    @given(body=broken("disputes"), path_id=st.one_of(st.just(doc_id), odd_ids), stale=st.booleans())
    def run(body, path_id, stale):
        if isinstance(body, dict):
            body.pop("id", None)
            current = client.get(f"{API}/disputes/{doc_id}", headers=village).json
            body["rev"] = "1-" + "0" * 32 if stale else current["rev"]
        text = dump(body)
        target = quote_from_bytes(str(path_id).encode("utf-8", "surrogatepass"), safe="")
        r = client.put(f"{API}/disputes/{target}", data=text.encode("utf-8"), content_type="application/json",
                       headers=village)
        api_refusal(r, f"PUT {target} {text[:300]}")
        if r.status_code == 200:
            sent = canonical(text)
            back = client.get(f"{API}/disputes/{doc_id}", headers=village).json
            assert same(back, r.json)
            for key, value in sent.items():
                if key != "rev":
                    assert same(back[key], value), (key, value, back.get(key))

    run()


def test_login_bodies_never_fail(client):
    @fuzz(25)
    @given(body=st.one_of(
        st.fixed_dictionaries({"name": st.one_of(texts, st.sampled_from(["fuzz-nobody", "\ud800", ""])),
                               "password": st.one_of(texts, numbers), "device_id": odd_ids},
                              optional={"device_label": values, "extra": values}),
        values,
    ))
    def run(body):
        text = dump(body)
        r = client.post(f"{API}/auth/login", data=text.encode("utf-8"), content_type="application/json")
        api_refusal(r, text[:300])
        assert r.status_code != 200  # no generated body holds a real password

    run()


# -- query parameters -------------------------------------------------------------------------------------------

query_values = st.one_of(
    texts,
    st.integers().map(str),
    st.sampled_from(["18446744073709551616", "-9223372036854775809", "9223372036854775807", "99999999999999999999",
                     "1e3", "1.5", "-1", "0", "+1", "0x10", "1_000", "١٢", " 5", "5 ", "NaN", "inf",
                     "0001Q1", "9999Q4", "2026Q5", "2026q1", "2026Q1", "2101Q1", "1900Q1", "2100Q4",
                     "0001-01-01", "9999-12-31", "2026-02-30", "2026-11-20", "20261120", "2026-W47-1"]),
)


def query(params: dict) -> str:
    """A query string; text with half a character goes out as the bytes a careless client would send."""
    return "&".join(f"{quote_from_bytes(k.encode())}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in params.items())


whole_numbers = st.one_of(st.integers(-2**70, 2**70).map(str), st.sampled_from(
    ["18446744073709551616", "-9223372036854775809", "9223372036854775807", "1" + "0" * 40, "9" * 5000, "0", "-1"]))
YEARS = [1, 9999, 1, 9999, 1, 9999, 2, 9998, 1899, 1900, 2100, 2101, 2026]
days = st.builds(lambda y, md: f"{y:04d}-{md[0]:02d}-{md[1]:02d}", st.sampled_from(YEARS),
                 st.sampled_from([(1, 1), (12, 31), (1, 5), (12, 1), (1, 1), (12, 31), (2, 30), (13, 1)]))
SPECIFIC = {
    "since": st.one_of(days, timestamps()), "until": st.one_of(days, timestamps()), "page": whole_numbers,
    "limit": whole_numbers,
    "quarter": st.builds("{:04d}{}{}".format, st.sampled_from(YEARS), st.sampled_from(["Q", "Q", "q", "-Q"]),
                         st.sampled_from([1, 4, 2, 3, 0, 5])),
    "area": st.sampled_from([VILLAGE, VILLAGE2, TOWNSHIP, "990101", "990102", "9901010010011", "１２３４５６", ""]),
}


@st.composite
def params_of(draw, names, others=(), **specific):
    """Some of `names` (mostly with values aimed at them: SPECIFIC, or `specific`), perhaps some of
    `others`."""
    aimed = {**SPECIFIC, **specific}
    chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3))
    if others:
        chosen += draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
    return {name: draw(aimed[name] if name in aimed and draw(st.integers(0, 3)) else query_values)
            for name in chosen}


raw_bytes = st.sampled_from(["%ff", "%ed%a0%80", "%c0%80", "%00", "%e4%b8", "%"])


API_LISTS = ["/reports", "/disputes", "/visits", "/households", "/tasks", "/devices", "/visits/x", "/disputes/%00",
             "/figures"]


def test_api_query_parameters_never_fail(client, bearer):
    township = bearer("demo-township")

    @fuzz(20)
    @given(params=params_of(["limit", "cursor", "area", "q"], ["account", "since", "page"]), junk=raw_bytes,
           paths=st.lists(st.sampled_from(API_LISTS), min_size=3, max_size=3, unique=True))
    def run(params, junk, paths):
        qs = query(params)
        for path in paths:
            api_refusal(client.get(f"{API}{path}?{qs}", headers=township), f"{path}?{qs}")
        url = f"{API}/visits?limit={junk}&cursor={junk}&area={junk}&q={junk}"
        api_refusal(client.get(url, headers=township), url)

    run()


LEDGER_PAGES = ["/ledger/", "/ledger/ledger", "/ledger/ledger.csv", "/ledger/disputes?metric=timely_acceptance",
                "/ledger/disputes", "/ledger/figures", "/ledger/quarterly", "/ledger/map", "/ledger/notice",
                "/ledger/report/x%00", "/ledger/dispute/x%00", "/ledger/doc/x%01/attachment/a%00.jpg",
                "/ledger/dispute/new",
                "/ledger/room", "/ledger/bulletin", "/ledger/bulletin.csv", "/ledger/disputes?room=key_open",
                "/ledger/disputes.csv", "/ledger/ledger.xlsx?sort=due", "/ledger/disputes?sort=stage&dir=desc",
                "/ledger/notices", "/ledger/access-log", "/ledger/search?q=%E5%BC%A0"]


def test_ledger_query_parameters_never_fail(ledger):
    def check(url):
        r = ledger.get(url)
        no_server_error(r, url)
        if r.status_code == 400:
            assert r.mimetype == "text/html" and '<html lang="zh-CN">' in r.text, (url, r.text[:300])

    @fuzz(20)
    @given(params=params_of(["since", "until", "page", "quarter", "area", "period", "kind"],
                            ["level", "status", "review", "metric", "risk", "category", "open", "key", "sort", "dir",
                             "stage", "overdue"],
                            since=days, until=days), junk=raw_bytes,
           pages=st.lists(st.sampled_from(LEDGER_PAGES), min_size=3, max_size=3, unique=True))
    @example(params={"quarter": "0001Q1"}, junk="%ff", pages=LEDGER_PAGES)  # each of these was a 500
    @example(params={"quarter": "9999Q4"}, junk="%ff", pages=LEDGER_PAGES)
    @example(params={"until": "0001-01-05"}, junk="%ff", pages=LEDGER_PAGES)
    @example(params={"since": "9999-12-01", "until": "9999-12-31"}, junk="%ff", pages=LEDGER_PAGES)
    @example(params={"sort": "doc_id desc;--", "dir": "%00"}, junk="%ff", pages=LEDGER_PAGES)
    @example(params={"sort": "created", "dir": "desc", "stage": "registered", "overdue": "1"}, junk="%ff",
             pages=LEDGER_PAGES)
    def run(params, junk, pages):
        for page in pages:  # the same parameters on several pages: each reads its own
            check(f"{page}{'&' if '?' in page else '?'}{query(params)}")
        check(f"/ledger/ledger?since={junk}&until={junk}&page={junk}&area={junk}")
        check(f"/ledger/disputes?sort={junk}&dir={junk}&stage={junk}&since={junk}")

    run()


REGISTRATION_FIELDS = ["area", "summary", "category", "risk_level", "people_involved", "amount_yuan", "occurred_on",
                       "category_detail", "party_name_0", "party_role_0", "party_phone_0", "party_id_number_0",
                       "party_name_1", "party_role_1"]


def test_registering_a_matter_never_fails(ledger):
    """Whatever the registration form is sent, a page with a reason (or the file of what was stored)."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', ledger.get("/ledger/dispute/new").text).group(1)
    good = {"area": VILLAGE, "summary": "邻里纠纷", "category": "neighbourhood", "risk_level": "low",
            "party_name_0": "张三", "party_role_0": "applicant"}

    sendable = query_values.filter(lambda v: v.encode("utf-8", "surrogatepass") == v.encode("utf-8", "ignore"))

    @fuzz(25)
    @given(fields=st.dictionaries(st.sampled_from(REGISTRATION_FIELDS), sendable, max_size=4))
    def run(fields):
        r = ledger.post("/ledger/dispute/new", data={**good, **fields, "csrf_token": token})
        no_server_error(r, repr(fields))
        assert r.status_code in (302, 400, 403, 422), (fields, r.status_code)

    run()


def test_geo_query_parameters_never_fail(client, bearer):
    district = bearer("demo-district")

    @fuzz(40)
    @given(params=params_of(["since", "until", "limit", "area"], ["flag", "visitor"]), junk=raw_bytes)
    @example(params={"since": "0001-01-01"}, junk="%ff")  # each of these was a 500
    @example(params={"until": "9999-12-31"}, junk="%ff")
    @example(params={"since": "0001-01-01T00:00:00+14:00"}, junk="%ff")
    @example(params={"visitor": "a\x00b"}, junk="%ff")
    def run(params, junk):
        for url in (f"/_geo/visits?{query(params)}", f"/_geo/coverage?{query(params)}",
                    f"/_geo/visits?since={junk}&until={junk}&limit={junk}&visitor={junk}"):
            r = client.get(url, headers=district)
            no_server_error(r, url)
            if r.status_code >= 400:
                assert r.mimetype == "application/json" and set(r.json) == {"error", "reason"}, (url, r.data[:300])

    run()
