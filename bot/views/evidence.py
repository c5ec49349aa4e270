"""Evidence (photos, a voice note, a shared location) as the Bot API calls that carry it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Translator

# sendMediaGroup takes 2-10 items; more photos go in several albums.
ALBUM_MAX = 10
CAPTION_MAX = 1024


@dataclass(frozen=True)
class Evidence:
    """What a record carries besides its text, and the label it is shown with."""

    label: str  # "A-17 · 方庄村", shown as caption and venue title
    photos: list[str] = field(default_factory=list)  # Telegram file ids
    voice: str | None = None
    location: tuple[float, float] | None = None
    address: str = ""  # the place as the liaison wrote it, or the village

    def __bool__(self) -> bool:
        return bool(self.photos or self.voice or self.location)


def evidence_line(t: Translator, ev: Evidence) -> str:
    """Return "照片3张、语音1条、位置" (empty when there is nothing)."""
    parts = []
    if ev.photos:
        parts.append(t("evidence.photos", n=len(ev.photos)))
    if ev.voice:
        parts.append(t("evidence.voice"))
    if ev.location:
        parts.append(t("evidence.location"))
    return t("common.list_sep").join(parts)


def follows_line(t: Translator, ev: Evidence) -> str:
    """Return the card's line saying what follows it, or "" when nothing does."""
    return t("evidence.follows", items=evidence_line(t, ev)) if ev else ""


def evidence_messages(t: Translator, ev: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """Return (method, payload) of each message carrying the evidence, in sending order."""
    caption = ev.label[:CAPTION_MAX]
    out: list[tuple[str, dict[str, Any]]] = []
    for start in range(0, len(ev.photos), ALBUM_MAX):
        chunk = ev.photos[start : start + ALBUM_MAX]
        if len(chunk) == 1:
            out.append(("sendPhoto", {"photo": chunk[0], "caption": caption}))
            continue
        media = [{"type": "photo", "media": file_id} for file_id in chunk]
        media[0]["caption"] = caption
        out.append(("sendMediaGroup", {"media": media}))
    if ev.voice:
        out.append(("sendVoice", {"voice": ev.voice, "caption": caption}))
    if ev.location:
        lat, lon = ev.location
        out.append(
            (
                "sendVenue",
                {
                    "latitude": lat,
                    "longitude": lon,
                    "title": caption[:256],
                    "address": (ev.address or ev.label)[:256],
                },
            )
        )
    return out
