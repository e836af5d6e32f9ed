"""HL7 v2 over MLLP: framing, acknowledgements (ACK built with hl7apy) and an asyncio server.

``framing`` cuts a byte stream into MLLP frames, ``ack`` reads an original's MSH and builds its ACK, ``server``
accepts connections and answers each framed message with a handler's reply.
"""

from gateway.mllp.ack import AckError, MessageHeader, build_ack, header_from_bytes
from gateway.mllp.framing import FrameDecoder, frame
from gateway.mllp.server import MllpServer

__all__ = ["AckError", "FrameDecoder", "MessageHeader", "MllpServer", "build_ack", "frame", "header_from_bytes"]
