"""Structured logs: one JSON object per line, with the request id, and no request bodies."""

import json
import logging

from gateway.telemetry import JsonFormatter, request_id_var


def test_json_log_line_carries_request_id_and_fields() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("cpts.access", logging.INFO, __file__, 1, "request", None, None)
        record.route = "/fhir/{resource_type}"
        record.status = 200
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["route"] == "/fhir/{resource_type}"
    assert entry["status"] == 200
    assert entry["level"] == "info"
    assert entry["ts"].endswith("Z")
