"""HL7 v2 over MLLP into the pipeline, over real sockets: AA once stored, AE located in the message, AR refused."""

from __future__ import annotations

import asyncio

from adapters.hl7v2.er7 import Er7Message, parse_message
from gateway.ingest.mllp import MllpIngest
from gateway.ingest.pipeline import Pipeline
from gateway.mllp import MllpServer, frame
from gateway.settings import Settings
from gateway.storage.db import read_transaction
from tests.conftest import HL7V2_CORPORA

CORPORA = HL7V2_CORPORA
ADMISSION = (CORPORA / "ansforge-pam-fr" / "SGL-admission.er7").read_bytes()
TENANT = "350000014"


def exchange(pipeline: Pipeline, settings: Settings, messages: list[bytes]) -> list[Er7Message]:
    async def main() -> list[bytes]:
        server = MllpServer(MllpIngest(pipeline, settings).handle, host="127.0.0.1", port=0)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            replies = []
            for message in messages:
                writer.write(frame(message))
                await writer.drain()
                replies.append((await reader.readuntil(b"\x1c\x0d"))[1:-2])
            writer.close()
            await writer.wait_closed()
            return replies
        finally:
            await server.close()

    return [parse_message(reply) for reply in asyncio.run(main())]


def registered(settings: Settings) -> Settings:
    return settings.model_copy(update={"mllp_facilities": f"CHU-X={TENANT}"})


def test_a_pam_admission_is_stored_then_acknowledged_and_a_resend_is_a_duplicate(
    pipeline: Pipeline, settings: Settings
) -> None:
    first, again = exchange(pipeline, registered(settings), [ADMISSION, ADMISSION])
    assert first.get("MSA-1") == "AA"
    assert first.get("MSA-2") == "3975"
    assert first.get("MSH-9.1") == "ACK"
    assert again.get("MSA-1") == "AA"
    assert "duplicate" in (again.get("MSA-3") or "")
    with read_transaction(pipeline.engine) as conn:
        assert pipeline.store.count(conn, "Patient") == 1


def test_a_bad_value_is_an_ae_with_the_field_in_err(pipeline: Pipeline, settings: Settings) -> None:
    broken = ADMISSION.replace(b"||19790328|F|", b"||19791328|F|")
    (ack,) = exchange(pipeline, registered(settings), [broken])
    assert ack.get("MSA-1") == "AE"
    assert ack.get("ERR-2.1") == "PID"
    assert ack.get("ERR-2.3") == "7"
    assert ack.get("ERR-3.1") == "102"


def test_an_unmapped_event_or_an_unknown_facility_is_refused(pipeline: Pipeline, settings: Settings) -> None:
    unmapped = (CORPORA / "microsoft-FHIR-Converter" / "SIU_12.hl7").read_bytes()
    (ack,) = exchange(pipeline, settings.model_copy(update={"mllp_facilities": "GHHSFacility=350000014"}), [unmapped])
    assert ack.get("MSA-1") == "AR"
    assert ack.get("ERR-3.1") == "200"
    (ack,) = exchange(pipeline, settings.model_copy(update={"mllp_facilities": "OTHER=350000022"}), [ADMISSION])
    assert ack.get("MSA-1") == "AR"
    assert ack.get("ERR-2.1") == "MSH"
    with read_transaction(pipeline.engine) as conn:
        assert pipeline.store.count(conn, "Patient") == 0
