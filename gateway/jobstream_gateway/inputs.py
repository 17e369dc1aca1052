"""Execute-request inputs checked against the process description, before anything is published."""

import math
import re
from datetime import date, time
from typing import Any

from jsonschema import Draft7Validator, FormatChecker, ValidationError

from jobstream_contracts.ogc import ExceptionType, InputDescription, ProcessDescription

from .errors import OGCError

# The string formats inputs are checked for, and what each looks like in words.
FORMATS = {
    "date": "a date as YYYY-MM-DD, e.g. 2020-01-31",
    "date-time": "a date and time as YYYY-MM-DDThh:mm:ssZ (RFC 3339), e.g. 2020-01-31T12:00:00Z",
    "time": "a time as hh:mm:ssZ (RFC 3339), e.g. 12:00:00Z",
}
# Checked here, not by jsonschema's own checkers: its date-time and time checkers exist only
# when optional packages are installed (rfc3339-validator), which the gateway does not need.
_FORMAT_CHECKER = FormatChecker(formats=())
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
_DATE_TIME = re.compile(f"({_DATE})[Tt ]({_TIME})")


@_FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or _valid_date(value)


@_FORMAT_CHECKER.checks("time", raises=ValueError)
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or _valid_time(value)


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    return match is not None and _valid_date(match[1]) and _valid_time(match[2])


def _valid_date(value: str) -> bool:
    return re.fullmatch(_DATE, value) is not None and bool(date.fromisoformat(value))


def _valid_time(value: str) -> bool:
    if re.fullmatch(_TIME, value) is None:
        return False
    time.fromisoformat(value.upper().replace("Z", "+00:00"))  # hours, minutes, seconds in range
    return True


# Levels of arrays and objects one input may nest. Deeper ones would break whatever recurses
# over them later (the schema validator, the event's encoding, every reader's JSON parser,
# each with its own limit), so they are refused first, however the process's schema reads.
MAX_DEPTH = 64


def _invalid(detail: str) -> OGCError:
    return OGCError(400, ExceptionType.INVALID_INPUT, detail, "Invalid input")


def _takes_objects(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind is None:
        return "properties" in schema or "additionalProperties" in schema
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _unwrap(where: str, value: Any, schema: dict[str, Any]) -> Any:
    """A qualified value (``{"value": ..., "mediaType": ...}``) becomes its plain value."""
    if not isinstance(value, dict) or _takes_objects(schema):
        return value
    if "href" in value:
        raise _invalid(f"{where}: inputs given by reference (href) are not supported")
    if "value" in value:
        return value["value"]
    return value


def _problem(error: ValidationError) -> str:
    """The validator's complaint; a format or a pattern is said as the form it expects (a
    pattern in its schema's ``description`` and ``example``), never as a regular expression."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    got = f"; got {error.instance!r}"
    if error.validator == "format" and error.validator_value in FORMATS:
        return f"expected {FORMATS[str(error.validator_value)]}{got}"
    if error.validator != "pattern":
        return error.message
    pattern = error.validator_value
    if "description" not in schema:
        return f"{error.instance!r} is not of the form this input takes (the pattern {pattern})"
    example = f", e.g. {schema['example']}" if "example" in schema else ""
    return f"expected {schema['description']}{example}{got}"


def _check_one(where: str, value: Any, schema: dict[str, Any]) -> Any:
    value = _unwrap(where, value, schema)
    validator = Draft7Validator(schema, format_checker=_FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        path = ".".join(str(part) for part in [where, *error.path])
        raise _invalid(f"{path}: {_problem(error)}")
    return value


def _max_occurs(description: InputDescription) -> float:
    if description.maxOccurs == "unbounded":
        return float("inf")
    return description.maxOccurs or 1


def _check_plain_data(where: str, value: Any) -> None:
    """JSON that every reader can take: no NaN or infinities, no unpaired surrogates."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid(f"{where}: {value} is not a finite number")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(f"{where}: not valid Unicode text (an unpaired surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain_data(f"{where}.{key}", key)
            _check_plain_data(f"{where}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain_data(f"{where}.{index}", item)


def _nests_deeper_than(value: Any, levels: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``levels`` deep; a loop, not a
    recursion, so no depth can overflow it."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        if depth == levels:
            return True
        pending.extend((child, depth + 1) for child in item)
    return False


def _check_depth(inputs: dict[str, Any]) -> None:
    for name, value in inputs.items():
        if _nests_deeper_than(value, MAX_DEPTH):
            raise _invalid(f"inputs.{name}: arrays and objects nested over {MAX_DEPTH} deep")


def validate_inputs(process: ProcessDescription, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the process function will receive them; raises OGCError(400)."""
    _check_depth(inputs)
    _check_plain_data("inputs", inputs)
    unknown = sorted(set(inputs) - set(process.inputs))
    if unknown:
        raise _invalid(
            f"inputs.{unknown[0]}: not an input of process {process.id} "
            f"(its inputs: {', '.join(sorted(process.inputs)) or 'none'})"
        )
    checked: dict[str, Any] = {}
    for name, description in process.inputs.items():
        if name not in inputs:
            if description.minOccurs > 0:
                raise _invalid(f"inputs.{name}: required input is missing")
            continue
        value = inputs[name]
        limit = _max_occurs(description)
        if limit > 1 and description.schema_.get("type") != "array":
            values = value if isinstance(value, list) else [value]
            if not description.minOccurs <= len(values) <= limit:
                raise _invalid(
                    f"inputs.{name}: {len(values)} values given, "
                    f"{description.minOccurs}..{description.maxOccurs} allowed"
                )
            checked[name] = [
                _check_one(f"inputs.{name}.{i}", v, description.schema_)
                for i, v in enumerate(values)
            ]
        else:
            checked[name] = _check_one(f"inputs.{name}", value, description.schema_)
    return checked
