"""HL7 v2 over MLLP into the pipeline: each framed message is stored (committed), processed, then acknowledged.

The ACK says what happened to the message: ``AA`` accepted (or a duplicate of one already accepted), ``AE`` when
mapping or validation rejected it (one ERR per issue, located in the message: ``PID-7``, ``PID-3[2].4``), ``AR``
when it cannot be taken at all (unreadable, unsupported event, unknown sending facility). The message is in the
database before any ACK leaves, and a rejected one waits in the dead-letter store for a replay.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Literal

from gateway.ingest.pipeline import Pipeline, new_owner
from gateway.mllp.ack import AckError, MessageHeader, build_ack, header_from_bytes
from gateway.settings import Settings

_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
_HL7_CODE = {
    "MAP-REQUIRED": "101",
    "MAP-CODE": "103",
    "MAP-VALUE": "102",
    "MAP-DATE": "102",
    "MAP-DST": "102",
    "MAP-ID": "101",
    "MAP-UNSUPPORTED": "200",
}
_REFUSED = ("MAP-UNSUPPORTED", "ADP-")


class MllpIngest:
    """The MLLP server's handler."""

    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline, self.settings = pipeline, settings
        self.owner = new_owner()

    async def handle(self, data: bytes) -> bytes:
        return await asyncio.to_thread(self.process, data)

    def tenant(self, header: MessageHeader) -> str | None:
        """The centre a message comes from: the configured facility table, else (development) a FINESS in MSH-4."""
        facility = [part for part in header.sending_facility if part]
        table = self.settings.mllp_facility_map
        if table:
            return next((table[name] for name in facility if name in table), None)
        if self.settings.env == "production":
            return None
        return next((name for name in reversed(facility) if _FINESS.match(name)), None)

    def process(self, data: bytes) -> bytes:
        header = header_from_bytes(data)
        if header is None:
            raise ValueError("the frame holds no MSH segment")  # the server closes the connection
        tenant = self.tenant(header)
        if tenant is None:
            why = "the sending facility (MSH-4) is not registered with this gateway (CPTS_MLLP_FACILITIES)"
            return self._ack(header, "AR", [AckError("MSH-4", "207", "E", why)], why)
        received = self.pipeline.jobs.receive(data, tenant=tenant, format="hl7v2", source="mllp", owner=self.owner)
        job = self.pipeline.jobs.leased(received.job_id, self.owner)
        if job is not None:
            self.pipeline.run(job)
        report = self.pipeline.jobs.report(received.job_id)
        if report["status"] != "done":  # the payload itself was refused, or is still queued (another worker)
            error = report["summary"].get("error")
            if error is None:
                return self._ack(header, "AA", [], "stored, processing")
            return self._ack(header, "AR", [_ack_error(error)], error.get("diagnostics"))
        records = report["records"]
        rejected = [r for r in records if r["status"] == "rejected"]
        if not rejected:
            status = "duplicate" if records and all(r["status"] == "duplicate" for r in records) else "accepted"
            return self._ack(header, "AA", [], f"message {status}")
        issues = [issue for record in rejected for issue in record["issues"]]
        refused = any(_code(i).startswith(_REFUSED) for i in issues)
        errors = [_ack_error(issue) for issue in issues[:20]]
        return self._ack(header, "AR" if refused else "AE", errors, issues[0].get("diagnostics") if issues else None)

    def _ack(
        self, header: MessageHeader, code: Literal["AA", "AE", "AR"], errors: list[AckError], text: str | None
    ) -> bytes:
        return build_ack(header, code, errors, text, control_id=uuid.uuid4().hex[:20])


def _code(issue: dict[str, Any]) -> str:
    coding = (issue.get("details") or {}).get("coding") or [{}]
    return str(coding[0].get("code", ""))


def _ack_error(issue: dict[str, Any]) -> AckError:
    code = _code(issue)
    hl7 = _HL7_CODE.get(code, "100" if code.startswith("ADP-HL7") else "207")
    locations = issue.get("location") or []
    location = locations[0].rsplit(":", 1)[-1] if locations else None
    severity: Literal["E", "W"] = "W" if issue.get("severity") == "warning" else "E"
    return AckError(location, hl7, severity, str(issue.get("diagnostics", ""))[:500])


__all__ = ["MllpIngest"]
