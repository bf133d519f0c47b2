"""What an attachment ref says. Pure. A stored file is `store:<practice>/<xx>/<sha256>`: the
practice that owns it is in the ref, so a reply can never carry another practice's file (T-1).
Anything else (a provider's https URL) belongs to no practice here."""

from __future__ import annotations

REF_PREFIX = "store:"


class AttachmentNotFound(KeyError):
    pass


def key_of(ref: str) -> str:
    """The store key of a ref; AttachmentNotFound for anything that is not one."""
    if not ref.startswith(REF_PREFIX):
        raise AttachmentNotFound(ref)
    key = ref[len(REF_PREFIX) :]
    parts = key.split("/")
    if len(parts) != 3 or any(p in ("", ".", "..") for p in parts):
        raise AttachmentNotFound(ref)
    return key


def practice_of(ref: str) -> str | None:
    """The practice a store ref belongs to; None for anything else (a provider URL)."""
    try:
        return key_of(ref).split("/", 1)[0]
    except AttachmentNotFound:
        return None
