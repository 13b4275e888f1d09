"""Recognise a file family from its first bytes, never from its name or a claimed MIME type.

Decoding decides what a file *is*; the magic bytes only decide which error a failed decode gets:
bytes that start like a JPEG or an MP4 but do not decode are ``corrupt`` (a damaged upload),
anything else is ``unsupported`` (random bytes, text, a PDF...).
"""

from __future__ import annotations

# Top-level ISO-BMFF boxes a QuickTime/MP4 file may start with.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")


def sniff(head: bytes) -> str | None:
    """The family the bytes claim to be (``"jpeg"``, ``"png"``, ``"mp4"``...), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 14:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[4:8] in _ISO_BOXES:
        if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
            return "heif"
        if head[4:8] == b"ftyp" and head[8:12] in _AVIF_BRANDS:
            return "avif"
        return "mp4"
    return None


IMAGE_FAMILIES = frozenset({"jpeg", "png", "bmp", "webp", "heif"})
VIDEO_FAMILIES = frozenset({"mp4", "matroska", "avi", "gif"})
