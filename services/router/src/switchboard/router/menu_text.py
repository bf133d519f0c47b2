"""The reason menu's words (X-MENU-1, X-LANG-1): English and Spanish, pure.

The patient's preferred language (BCP 47, from the PM system) picks the texts; anything that
is not Spanish gets English. Reason names of the default catalogue are translated here for
the menu only (the patient page has its own language helper); an added reason keeps its name.
"""

from __future__ import annotations

from collections.abc import Sequence

ENGLISH, SPANISH = "en", "es"

# The default catalogue's names in Spanish (R-REASON-1 codes).
_SPANISH_NAMES = {
    "prescriptions_refills": "Recetas / Resurtidos",
    "test_lab_results": "Resultados de pruebas / laboratorio",
    "appointments": "Citas",
    "billing": "Facturación",
    "referrals": "Referidos",
    "medical_question": "Pregunta médica",
    "other": "Otro",
}

# Number words a patient may answer with, per language (1-10).
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
}  # fmt: skip

_SMS = {
    ENGLISH: ("To direct your message, reply with a number: ", "{n} for {name}", "."),
    SPANISH: ("Para dirigir su mensaje, responda con un número: ", "{n} para {name}", "."),
}
_NOT_UNDERSTOOD = {
    ENGLISH: "Sorry, we did not understand your answer. ",
    SPANISH: "Lo sentimos, no entendimos su respuesta. ",
}
_EMAIL_INTRO = {
    ENGLISH: "What is your message about? Reply with one of these words (or its number) "
    "on the first line of your answer:",
    SPANISH: "¿De qué trata su mensaje? Responda con una de estas palabras (o su número) "
    "en la primera línea de su respuesta:",
}
_EMAIL_AFTER = {
    ENGLISH: "If you do not answer, your message reaches the practice anyway.",
    SPANISH: "Si no responde, su mensaje llega a la consulta de todos modos.",
}


def language_of(preferred: str | None) -> str:
    """`es` for any Spanish tag (es, es-MX, ...), otherwise `en`."""
    if preferred and preferred.strip().lower().split("-")[0].split("_")[0] == SPANISH:
        return SPANISH
    return ENGLISH


def reason_name(code: str, label: str, language: str) -> str:
    """The reason's name in `language` (the catalogue's label when there is no translation)."""
    if language == SPANISH:
        return _SPANISH_NAMES.get(code, label)
    return label


def all_names(code: str, label: str) -> tuple[str, ...]:
    """Every name the patient may answer with for a reason, in any language."""
    return (label, _SPANISH_NAMES.get(code, label), code.replace("_", " "))


def keyword(code: str) -> str:
    """The reply keyword an email menu lists for a reason: its code, upper-case."""
    return code.replace("_", "-").upper()


def menu_body(options: Sequence[tuple[str, str]], channel: str, language: str, retry: bool) -> str:
    """The menu: `options` are (code, label) in menu order, numbered from 1."""
    lang = language if language in _SMS else ENGLISH
    opening = _NOT_UNDERSTOOD[lang] if retry else ""
    if channel == "email":
        lines = [
            f"{n}. {keyword(code)}: {reason_name(code, label, lang)}"
            for n, (code, label) in enumerate(options, start=1)
        ]
        return "\n".join([opening + _EMAIL_INTRO[lang], "", *lines, "", _EMAIL_AFTER[lang]])
    intro, each, end = _SMS[lang]
    listed = ", ".join(
        each.format(n=n, name=reason_name(code, label, lang))
        for n, (code, label) in enumerate(options, start=1)
    )
    return f"{opening}{intro}{listed}{end}"


def menu_subject(subject: str | None) -> str:
    """An email menu answers the patient's email: "Re: <their subject>"."""
    if not subject:
        return "Re: your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"
