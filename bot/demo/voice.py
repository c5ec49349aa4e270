"""A sample voice note for the demo: a short, valid Ogg Opus file of silence, built in code.

Layout (RFC 7845): an Ogg page holding the OpusHead header, one holding OpusTags, then one
page of 20 ms Opus packets. Each packet is the encoder's own "digital silence" CELT frame,
so browsers play it and Telegram-style clients accept it.
"""

from __future__ import annotations

import struct

__all__ = ["SAMPLE_RATE", "crc32_ogg", "silent_voice_note"]

SAMPLE_RATE = 48_000  # Opus granule positions always count 48 kHz samples
_FRAME_SAMPLES = 960  # 20 ms
_PRE_SKIP = 312
_SILENT_FRAME = b"\xf8\xff\xfe"  # TOC: CELT fullband 20 ms, one frame; body: silence flag
_SERIAL = 0x4C424F54
_VENDOR = b"liaison-bot demo"


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc32_ogg(data: bytes) -> int:
    """Return Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, start 0)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    """Build one Ogg page carrying whole packets (each under 255 bytes here)."""
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack(
        "<4sBBqIIIB", b"OggS", 0, flags, granule, _SERIAL, sequence, 0, len(lacing)
    )
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, crc32_ogg(bytes(page)))
    return bytes(page)


def silent_voice_note(seconds: int = 2) -> bytes:
    """Return an Ogg Opus file (mono) of ``seconds`` of silence."""
    frames = seconds * SAMPLE_RATE // _FRAME_SAMPLES
    if not 1 <= frames <= 250:
        raise ValueError("between 1 and 5 seconds fit one page")
    head = struct.pack("<8sBBHIhB", b"OpusHead", 1, 1, _PRE_SKIP, SAMPLE_RATE, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", len(_VENDOR)) + _VENDOR + struct.pack("<I", 0)
    audio = [_SILENT_FRAME] * frames
    return (
        _page([head], 0, 0, 0x02)  # beginning of stream
        + _page([tags], 0, 1, 0)
        + _page(audio, _PRE_SKIP + frames * _FRAME_SAMPLES, 2, 0x04)  # end of stream
    )
