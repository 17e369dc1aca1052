"""Execute-request inputs checked against the process description, before anything is published."""

from typing import Any

from jsonschema import Draft7Validator

from jobstream_contracts.ogc import ExceptionType, InputDescription, ProcessDescription

from .errors import OGCError


def _invalid(detail: str) -> OGCError:
    return OGCError(400, ExceptionType.INVALID_INPUT, detail, "Invalid input")


def _unwrap(value: Any, schema: dict[str, Any]) -> Any:
    """A qualified value (``{"value": ..., "mediaType": ...}``) becomes its plain value."""
    if isinstance(value, dict) and "href" in value and schema.get("type") != "object":
        raise _invalid("inputs given by reference (href) are not supported")
    if isinstance(value, dict) and "value" in value and schema.get("type") != "object":
        return value["value"]
    return value


def _check_one(name: str, value: Any, schema: dict[str, Any]) -> Any:
    value = _unwrap(value, schema)
    errors = sorted(Draft7Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        where = ".".join(str(part) for part in ["inputs", name, *error.path])
        raise _invalid(f"{where}: {error.message}")
    return value


def _max_occurs(description: InputDescription) -> float:
    if description.maxOccurs == "unbounded":
        return float("inf")
    return description.maxOccurs or 1


def validate_inputs(process: ProcessDescription, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the process function will receive them; raises OGCError(400)."""
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
            checked[name] = [_check_one(name, v, description.schema_) for v in values]
        else:
            checked[name] = _check_one(name, value, description.schema_)
    return checked
