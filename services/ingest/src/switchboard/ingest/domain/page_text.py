"""Every word the patient page shows, in each language it speaks (X-LANG-1). Pure.

One typed catalogue for the whole page: patient.html marks its text with `data-t="key"`,
patient.js and patient_office.js ask `t("key", {name: ...})`; page.py serves one language's
entries as JSON (`/patient-assets/text-<lang>.json`). `{name}` is a value the script fills.
Server error details stay English (the API's words); the page shows its own `err_*` entries
for the ones a patient meets (FRIENDLY in patient.js).
"""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.ingest.domain.language import SUPPORTED, Language

# key: (English, Spanish)
_TEXT: dict[str, tuple[str, str]] = {
    # the frame
    "title": ("Message your care team", "Escriba a su equipo de atención"),
    "doc_title": ("Message {name}", "Escriba a {name}"),
    "skip": ("Skip to content", "Ir al contenido"),
    "practice_default": ("Your practice", "Su consultorio"),
    "sign_out": ("Sign out", "Cerrar sesión"),
    "language": ("Language", "Idioma"),
    "emergencies": ("Emergencies", "Emergencias"),
    # the office (X-PATIENTPAGE-1)
    "when_we_reply": ("When we reply", "Cuándo respondemos"),
    "office_hours": ("Office hours", "Horario de atención"),
    "reply_within": (
        "We usually reply within {duration} during business hours.",
        "Normalmente respondemos en {duration} durante el horario de atención.",
    ),
    "minute_one": ("{n} minute", "{n} minuto"),
    "minute_other": ("{n} minutes", "{n} minutos"),
    "hour_one": ("{n} hour", "{n} hora"),
    "hour_other": ("{n} hours", "{n} horas"),
    "day_one": ("{n} day", "{n} día"),
    "day_other": ("{n} days", "{n} días"),
    "hours_and_minutes": ("{hours} {minutes}", "{hours} y {minutes}"),
    "days_short": ("Mon Tue Wed Thu Fri Sat Sun", "lun mar mié jue vie sáb dom"),
    "closed": ("closed", "cerrado"),
    "midnight": ("midnight", "medianoche"),
    "closed_on": ("Closed on {dates}.", "Cerrado el {dates}."),
    # sign-in
    "intro": (
        "To keep your health information private, first confirm who you are.",
        "Para proteger su información de salud, primero confirme quién es.",
    ),
    "signin_heading": ("Confirm your identity", "Confirme su identidad"),
    "given_name": ("First name", "Nombre"),
    "family_name": ("Last name", "Apellido"),
    "birth_date": ("Date of birth", "Fecha de nacimiento"),
    "phone": ("Mobile number", "Número de celular"),
    "phone_hint": (
        "The mobile number your practice has on file for you.",
        "El número de celular que su consultorio tiene registrado.",
    ),
    "continue": ("Continue", "Continuar"),
    "fill_in": ("Please fill in: {names}.", "Complete: {names}."),
    "secure_title": ("Your secure message", "Su mensaje seguro"),
    "secure_intro": (
        "Your care team sent you a secure message. Confirm who you are to read it.",
        "Su equipo de atención le envió un mensaje seguro. Confirme quién es para leerlo.",
    ),
    "link_incomplete": (
        "This link is incomplete. Use the whole link from the email you received.",
        "Este enlace está incompleto. Use el enlace completo del correo que recibió.",
    ),
    # the conversation
    "thread_heading": ("Your messages", "Sus mensajes"),
    "secure_thread_heading": ("Messages", "Mensajes"),
    "empty": (
        "No messages yet. Write to your care team below.",
        "Aún no hay mensajes. Escriba a su equipo de atención aquí abajo.",
    ),
    "secure_empty": ("There is nothing here yet.", "Aún no hay nada aquí."),
    "conversation": ("Conversation", "Conversación"),
    "polling_note": (
        "New replies appear here automatically.",
        "Las respuestas nuevas aparecen aquí automáticamente.",
    ),
    "you": ("You", "Usted"),
    "care_team": ("Your care team", "Su equipo de atención"),
    "download": ("Download", "Descargar"),
    "download_named": ("Download {name}", "Descargar {name}"),
    "picture_named": ("Picture: {name}", "Imagen: {name}"),
    "attachment": ("attachment", "adjunto"),
    # writing
    "compose_heading": ("Write a message", "Escriba un mensaje"),
    "secure_compose_heading": ("Reply", "Responder"),
    "reason_legend": ("What is your message about?", "¿De qué trata su mensaje?"),
    "required": ("(required)", "(obligatorio)"),
    "reason_hint_before": ("Not sure which to choose? Pick", "¿No sabe cuál elegir? Elija"),
    "reason_hint_other": ("Other", "Otro"),
    "reason_hint_after": (
        ": your care team will direct your message to the right person.",
        ": su equipo de atención dirigirá su mensaje a la persona indicada.",
    ),
    "body_label": ("Your message", "Su mensaje"),
    "files_label": ("Attach files (optional)", "Adjuntar archivos (opcional)"),
    "files_hint": (
        "Photos, PDFs or documents, up to 10 files.",
        "Fotos, PDF o documentos, hasta 10 archivos.",
    ),
    "files_to_send": ("Files to send", "Archivos para enviar"),
    "send": ("Send", "Enviar"),
    "sending": ("Sending…", "Enviando…"),
    "uploading": ("Uploading {name}…", "Subiendo {name}…"),
    "sent": ("Sent.", "Enviado."),
    "choose_reason": (
        "Please choose what your message is about.",
        "Elija de qué trata su mensaje.",
    ),
    "write_or_attach": (
        "Write a message or attach a file.",
        "Escriba un mensaje o adjunte un archivo.",
    ),
    "max_files": (
        "You can send at most 10 files at a time.",
        "Puede enviar como máximo 10 archivos a la vez.",
    ),
    # errors
    "err_unreachable": (
        "We could not reach the practice. Check your connection and try again.",
        "No pudimos comunicarnos con el consultorio. Revise su conexión e inténtelo de nuevo.",
    ),
    "err_check": ("Please check: {names}.", "Revise: {names}."),
    "err_too_large": (
        "This file is too large to send.",
        "Este archivo es demasiado grande para enviarlo.",
    ),
    "err_file_type": (
        "This kind of file cannot be sent: send a picture, a PDF or a document.",
        "No se puede enviar este tipo de archivo: envíe una imagen, un PDF o un documento.",
    ),
    "err_generic": (
        "Something went wrong ({status}). Please try again.",
        "Algo salió mal ({status}). Inténtelo de nuevo.",
    ),
    "err_unknown_practice": (
        "This practice is not known. Check the address you were given.",
        "No conocemos este consultorio. Revise la dirección que le dieron.",
    ),
    "err_not_verified": (
        "We could not verify these details. Check your name, date of birth and mobile number "
        "match what your practice has on file.",
        "No pudimos verificar estos datos. Compruebe que su nombre, fecha de nacimiento y "
        "número de celular coinciden con los que tiene su consultorio.",
    ),
    "err_too_many": (
        "Too many attempts. For your security, please wait a few minutes and try again.",
        "Demasiados intentos. Por su seguridad, espere unos minutos e inténtelo de nuevo.",
    ),
    "err_phone": (
        "Enter a valid mobile number, for example 212 555 0123.",
        "Escriba un número de celular válido, por ejemplo 212 555 0123.",
    ),
    "err_link_invalid": (
        "This link is not valid. Use the link in the email you received.",
        "Este enlace no es válido. Use el enlace del correo que recibió.",
    ),
    "err_link_expired": (
        "This link has expired. Ask the practice to send it again.",
        "Este enlace caducó. Pida al consultorio que se lo envíe de nuevo.",
    ),
    "err_try_shortly": (
        "We cannot do this right now. Please try again shortly.",
        "No podemos hacerlo en este momento. Inténtelo de nuevo en unos minutos.",
    ),
    "err_file_open": ("This file could not be opened.", "No se pudo abrir este archivo."),
    "session_ended": (
        "Your session has ended. Please confirm your details again.",
        "Su sesión terminó. Confirme sus datos de nuevo.",
    ),
}

PAGE_TEXT: Mapping[str, Mapping[Language, str]] = {
    key: dict(zip(SUPPORTED, words, strict=True)) for key, words in _TEXT.items()
}


def page_text(language: Language) -> dict[str, str]:
    """One language's entries, as the page loads them."""
    return {key: words[language] for key, words in PAGE_TEXT.items()}
