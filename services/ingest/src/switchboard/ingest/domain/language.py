"""Which language the patient page speaks (X-LANG-1). Pure.

X-LANG-2 The page's language is, in order: the one the patient picked with the page's switch
  (remembered for the browser session), the patient's preferred language from the PM system
  (once signed in), the browser's Accept-Language (before sign-in), else English. Only
  languages the page has words for count; a regional tag ("es-MX") counts as its language.
"""

from __future__ import annotations

from typing import Literal, cast

Language = Literal["en", "es"]
SUPPORTED: tuple[Language, ...] = ("en", "es")
DEFAULT: Language = "en"
# Each language's name in itself: what the switch shows.
NAMES: dict[Language, str] = {"en": "English", "es": "Español"}
MAX_ACCEPT = 512  # a longer header is cut: nothing sensible needs more


def supported(tag: str | None) -> Language | None:
    """The page's language for a BCP 47 tag ("es-MX" -> "es"), or None when it has none."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return cast(Language, primary) if primary in SUPPORTED else None


def from_accept_language(header: str | None) -> Language | None:
    """The supported language the browser likes best (RFC 9110 quality values; ties keep the
    header's order; `*` and q=0 choose nothing)."""
    ranked: list[tuple[float, int, Language]] = []
    for i, item in enumerate((header or "")[:MAX_ACCEPT].split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = supported(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, i, language))
    return min(ranked)[2] if ranked else None


def choose(
    switch: str | None = None, preferred: str | None = None, accept_language: str | None = None
) -> Language:
    """The page's language (X-LANG-2): the switch, else the preferred, else Accept-Language,
    else English."""
    return (
        supported(switch)
        or supported(preferred)
        or from_accept_language(accept_language)
        or DEFAULT
    )
