"""The SES v1 Query wire format: form parameters in, XML out, both driven by botocore's model.

Requests are `Action=<Op>&Version=2010-12-01&...` with the input shape flattened into dotted
names (ses-v1-api.md §1): lists as `Name.member.N` (N from 1; a bare `Name=` is an empty list),
maps as `Name.entry.N.key` / `Name.entry.N.value`, nested structures as `Outer.Inner`, booleans
`true`/`false`, blobs in base64. `decode` turns them back into the typed dict the v2 dialect
reads from JSON, then checks each value with `api.shapes.check_value` (the same enum, length,
range and pattern rules as the v2 API).

Responses are `<{Op}Response><{Op}Result>…</{Op}Result><ResponseMetadata>…` (`response_xml`):
lists as `<member>`, maps as `<entry><key/><value/></entry>`, empty lists and maps always written
(django-ses and Terraform index them directly), and the Result element written even when empty
(botocore needs it), except for the five operations with no output shape.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from botocore.model import OperationModel, Shape

from api import shapes

from .errors import QueryError, invalid_parameter

SERVICE = "ses"
VERSION = "2010-12-01"
NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"
# Parameters every Query request carries besides the operation's members.
ENVELOPE_PARAMETERS = frozenset({"Action", "Version"})
_INDEX = re.compile(r"[1-9][0-9]{0,5}")
# Members SES brings into range instead of refusing: ListCustomVerificationEmailTemplates
# answers "up to 50" for a larger MaxResults (ses-v1-api.md §4.7).
CLAMPED = frozenset({"ListCustomVerificationEmailTemplates.MaxResults"})


def operation(action: str) -> OperationModel | None:
    """The v1 model's operation named `action`, or None if there is none."""
    model = shapes.service_model(SERVICE)
    if action not in model.operation_names:
        return None
    return model.operation_model(action)


# --- request --------------------------------------------------------------------------------
def decode(params: Mapping[str, str], op: OperationModel) -> dict[str, Any]:
    """The operation's input as a typed dict (model member names), or QueryError.

    Every parameter must belong to the input shape: an unknown one is refused by name rather
    than ignored, so a misspelt member never silently does nothing.
    """
    members = {key: value for key, value in params.items() if key not in ENVELOPE_PARAMETERS}
    used: set[str] = set()
    shape = op.input_shape
    result: dict[str, Any] = {}
    if shape is not None:
        result = _structure(members, "", shape, used, op.name)
    unknown = sorted(set(members) - used)
    if unknown:
        valid = ", ".join(shape.members) if shape is not None else "none"
        raise invalid_parameter(
            f"{unknown[0][:100]} is not a parameter of {op.name}. Valid parameters: {valid}."
        )
    return result


def _structure(
    params: Mapping[str, str], prefix: str, shape: Shape, used: set[str], op_name: str
) -> dict[str, Any]:
    result = {}
    for name, member in shape.members.items():
        key = f"{prefix}.{name}" if prefix else name
        if _present(params, key):
            result[name] = _value(params, key, member, used, op_name)
    for name in shape.required_members:
        if name not in result:
            key = f"{prefix}.{name}" if prefix else name
            raise QueryError("MissingParameter", f"The request must contain the parameter {key}.")
    return result


def _present(params: Mapping[str, str], key: str) -> bool:
    return key in params or any(name.startswith(key + ".") for name in params)


def _value(params: Mapping[str, str], key: str, shape: Shape, used: set[str], op_name: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(params, key, shape, used, op_name)
    if kind == "list":
        items = [
            _value(params, item_key, shape.member, used, op_name)
            for item_key in _indexed(params, f"{key}.member", used, key)
        ]
        shapes.check_length(len(items), shape, key, unit="items")
        return items
    if kind == "map":
        result = {}
        for entry in _indexed(params, f"{key}.entry", used, key):
            map_key = _value(params, f"{entry}.key", shape.key, used, op_name)
            result[map_key] = _value(params, f"{entry}.value", shape.value, used, op_name)
        return result
    used.add(key)
    value = _scalar(params[key], kind, key)
    if f"{op_name}.{key}" in CLAMPED:
        value = min(max(value, shape.metadata.get("min", value)), shape.metadata.get("max", value))
    return shapes.check_value(value, shape, key, op_name)


def _indexed(params: Mapping[str, str], base: str, used: set[str], key: str) -> list[str]:
    """The `base.N` prefixes present, in N order. A bare `key=` is an empty list or map."""
    if key in params:
        if params[key] != "":
            raise invalid_parameter(f"{key} is a list: send its items as {base}.1, {base}.2, ….")
        used.add(key)
    indices = set()
    for name in params:
        if name.startswith(base + "."):
            index = name[len(base) + 1 :].split(".", 1)[0]
            if not _INDEX.fullmatch(index):
                raise invalid_parameter(f"{name[:100]}: list positions are numbers from 1.")
            indices.add(int(index))
    return [f"{base}.{index}" for index in sorted(indices)]


def _scalar(text: str, kind: str, key: str) -> Any:
    if kind == "boolean":
        if text not in ("true", "false"):
            raise invalid_parameter(f"{key} must be true or false, not “{text[:40]}”.")
        return text == "true"
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise invalid_parameter(f"{key} must be a whole number, not “{text[:40]}”.") from None
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            raise invalid_parameter(f"{key} must be a number, not “{text[:40]}”.") from None
    return text  # strings, and blobs (base64, decoded by shapes.check_value as for v2)


# --- response -------------------------------------------------------------------------------
def response_xml(op: OperationModel, result: Mapping[str, Any] | None, request_id: str) -> bytes:
    root = ElementTree.Element(f"{op.name}Response", xmlns=NAMESPACE)
    shape = op.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{op.name}Result")
        element = ElementTree.SubElement(root, wrapper)
        _write_members(element, result or {}, shape)
    _metadata(root, request_id)
    return _document(root)


def error_xml(error: QueryError, request_id: str) -> bytes:
    root = ElementTree.Element("ErrorResponse", xmlns=NAMESPACE)
    body = ElementTree.SubElement(root, "Error")
    ElementTree.SubElement(body, "Type").text = "Receiver" if error.status >= 500 else "Sender"
    ElementTree.SubElement(body, "Code").text = error.code
    ElementTree.SubElement(body, "Message").text = error.message
    for name, value in error.extra.items():
        ElementTree.SubElement(body, name).text = value
    ElementTree.SubElement(root, "RequestId").text = request_id
    return _document(root)


def _metadata(root: ElementTree.Element, request_id: str) -> None:
    metadata = ElementTree.SubElement(root, "ResponseMetadata")
    ElementTree.SubElement(metadata, "RequestId").text = request_id


def _document(root: ElementTree.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def _write_members(element: ElementTree.Element, data: Mapping[str, Any], shape: Shape) -> None:
    for name, member in shape.members.items():
        if data.get(name) is not None:
            tag = member.serialization.get("name", name)
            _write(ElementTree.SubElement(element, tag), data[name], member)


def _write(element: ElementTree.Element, value: Any, shape: Shape) -> None:
    kind = shape.type_name
    if kind == "structure":
        _write_members(element, value, shape)
    elif kind == "list":
        tag = shape.member.serialization.get("name", "member")
        for item in value:
            _write(ElementTree.SubElement(element, tag), item, shape.member)
    elif kind == "map":
        for key, item in value.items():
            entry = ElementTree.SubElement(element, "entry")
            ElementTree.SubElement(entry, "key").text = key
            _write(ElementTree.SubElement(entry, "value"), item, shape.value)
    elif kind == "boolean":
        element.text = "true" if value else "false"
    elif kind == "timestamp":
        element.text = _iso8601(value)
    elif kind in ("double", "float"):
        element.text = repr(float(value))
    elif kind == "blob":
        element.text = base64.b64encode(value).decode("ascii")
    else:
        element.text = str(value)


def _iso8601(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
