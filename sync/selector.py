"""A small subset of Mango selectors for `filter=_selector`: field conditions with $eq, $ne, $gt,
$gte, $lt, $lte, $in, $nin, $exists, combined with $and, $or, $nor, $not. Anything else is refused
with a clear error rather than silently matching."""
from __future__ import annotations

from . import errors

_MISSING = object()


def validate(selector) -> dict:
    if not isinstance(selector, dict):
        raise errors.BadRequest("selector must be a JSON object")
    matches({}, selector)  # walks the whole selector, raising on unsupported operators
    return selector


def _field(doc, path: str):
    value = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _comparable(a, b) -> bool:
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool)
            and not isinstance(b, bool)) or (isinstance(a, str) and isinstance(b, str))


def _condition(value, op: str, arg, walking: bool) -> bool:
    if op == "$eq":
        return value is not _MISSING and value == arg
    if op == "$ne":
        return value is _MISSING or value != arg
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if value is _MISSING or not _comparable(value, arg):
            return False
        return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg, "$lte": value <= arg}[op]
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise errors.BadRequest(f"{op} needs an array")
        inside = value is not _MISSING and value in arg
        return inside if op == "$in" else not inside
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    raise errors.BadRequest(f"Unsupported selector operator: {op}")


def _field_matches(value, cond) -> bool:
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        results = []
        for op, arg in cond.items():
            if op == "$not":
                results.append(not _field_matches(value, arg))
            else:
                results.append(_condition(value, op, arg, False))
        return all(results)
    return value is not _MISSING and value == cond


def matches(doc: dict, selector: dict) -> bool:
    results = []
    for key, cond in selector.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list):
                raise errors.BadRequest(f"{key} needs an array of selectors")
            parts = [matches(doc, validate_part(c)) for c in cond]
            results.append(all(parts) if key == "$and" else any(parts) if key == "$or" else not any(parts))
        elif key == "$not":
            results.append(not matches(doc, validate_part(cond)))
        elif key.startswith("$"):
            raise errors.BadRequest(f"Unsupported selector operator: {key}")
        else:
            results.append(_field_matches(_field(doc, key), cond))
    return all(results)


def validate_part(part) -> dict:
    if not isinstance(part, dict):
        raise errors.BadRequest("selector parts must be JSON objects")
    return part
