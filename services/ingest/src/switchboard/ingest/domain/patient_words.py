"""What the patient reads that is data, not page text, in the patient's language (X-LANG-1):
reason names and descriptions, and the emergency notice. Pure.

X-LANG-5 Automatic notices to patients (the secure email's notice) are in the preferred
  language of the patients using the address when they agree on one the page speaks, else
  English; when the PM system cannot be asked, English.
X-LANG-3 Reasons are offered in the page's language: a practice's own words for a reason in
  that language (ingest's `reason_translations`) first, else the built-in Spanish for the
  default reasons, else the reason as the router names it (English). English is the router's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from switchboard.events.internal.pm_sync import PatientSummary
from switchboard.ingest.domain.language import DEFAULT, Language, supported

# The default reasons (router catalogue.py) in Spanish: (label, description).
SPANISH_REASONS: dict[str, tuple[str, str]] = {
    "prescriptions_refills": (
        "Recetas / Resurtidos",
        "Un resurtido, una receta nueva o una pregunta sobre un medicamento que toma.",
    ),
    "test_lab_results": (
        "Resultados de pruebas / laboratorio",
        "Preguntas sobre análisis de sangre, estudios de imagen u otros resultados.",
    ),
    "appointments": ("Citas", "Programar, cambiar o cancelar una visita, o preguntar por una."),
    "billing": ("Facturación", "Facturas, pagos, seguro médico y costos."),
    "referrals": ("Referidos", "Un referido a un especialista, o en qué estado está."),
    "medical_question": (
        "Pregunta médica",
        "Una pregunta no urgente sobre síntomas, una condición o su atención.",
    ),
    "other": (
        "Otro",
        "Cualquier otra cosa, o si no está seguro: su equipo de atención lo dirigirá.",
    ),
}
BUILT_IN: Mapping[str, Mapping[str, tuple[str, str]]] = {"es": SPANISH_REASONS}

SPANISH_EMERGENCY_NOTICE = (
    "Si es una emergencia, llame al 911 o vaya a la sala de emergencias más cercana. "
    "No use esta página para necesidades médicas urgentes."
)


# The secure email's notice (subject, body with {link}): never the message itself.
SECURE_NOTICE: Mapping[Language, tuple[str, str]] = {
    "en": (
        "You have a new secure message",
        "You have a new secure message from your care team.\n\n"
        "Read it and answer here: {link}\n\n"
        "For your privacy the message itself is not sent by email. You will be asked to\n"
        "confirm your name and date of birth.\n",
    ),
    "es": (
        "Tiene un nuevo mensaje seguro",
        "Tiene un nuevo mensaje seguro de su equipo de atención.\n\n"
        "Léalo y responda aquí: {link}\n\n"
        "Por su privacidad, el mensaje no se envía por correo electrónico. Se le pedirá\n"
        "que confirme su nombre y fecha de nacimiento.\n",
    ),
}


def notice_language(patients: Iterable[PatientSummary]) -> Language:
    """The language of an automatic notice to an address (X-LANG-5): the patients' preferred
    one when they agree on one the page speaks, else English."""
    found = {supported(p.preferred_language) or DEFAULT for p in patients}
    return found.pop() if len(found) == 1 else DEFAULT


def reason_in(
    reason: Mapping[str, Any],
    language: Language,
    own: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """One reason ({code, label, description}) in `language` (X-LANG-3). `own`: the
    practice's words in this language, {code: {"label", "description"}}."""
    out = dict(reason)
    if language == DEFAULT:
        return out
    code = str(reason.get("code"))
    mine = (own or {}).get(code) or {}
    built_in = BUILT_IN.get(language, {}).get(code)
    label = mine.get("label") or (built_in[0] if built_in else None)
    if label:
        out["label"] = label
    if mine.get("description"):
        out["description"] = mine["description"]
    elif built_in and reason.get("description"):
        # a reason the practice left without a description stays without one
        out["description"] = built_in[1]
    return out


def reasons_in(
    reasons: Iterable[Mapping[str, Any]],
    language: Language,
    own: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, Any]]:
    return [reason_in(r, language, own) for r in reasons]


def emergency_notice(english: str, language: Language, own: Mapping[str, str]) -> str:
    """The emergency notice in `language`: the deployment's own, else the built-in Spanish
    (which names 911: a deployment where it is not 911 sets its own), else English."""
    if language == DEFAULT:
        return english
    if own.get(language):
        return own[language]
    return SPANISH_EMERGENCY_NOTICE if language == "es" else english
