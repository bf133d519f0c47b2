"""Reply templates per practice: canned replies staff insert when answering a patient.

    GET    /api/templates[?language=es]          any staff of the practice
        -> {"templates": [{"template_id", "name", "body", "bodies", "placeholders"}]}
    PUT    /api/admin/templates/{template_id}    practice admins: {"name", "body", "bodies"}
                                                 (create/update)
    DELETE /api/admin/templates/{template_id}    practice admins

`bodies` are the template's words per language ({"es": "..."}), besides the default `body`
(X-LANG-4, template_language.py); with `?language=`, each template also says `for_language`:
the body a reply to a patient of that language uses and its language (null: the default).

A body may use only the placeholders in PLACEHOLDERS ({{first_name}} ...); any other is refused
with 422 naming it. Templates are stored in the gateway's own schema (ADR 0005), scoped to the
caller's practice (T-1), with who changed them last and when.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Table, Text, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert

from switchboard.gateway import storage
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only, principal
from switchboard.gateway.template_language import LANGUAGE_KEY, MAX_LANGUAGES, body_for
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, problems

log = get_logger(__name__)
router = APIRouter(prefix="/api", tags=["templates"], responses=AUTHED | problems(404))

PLACEHOLDERS = ("first_name", "last_name", "full_name", "staff_name", "location")
# Anything between double braces counts as a placeholder (so typos are caught, not sent).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
TemplateId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

templates = Table(
    "templates",
    storage.metadata,
    Column("practice_id", Text, primary_key=True),
    Column("template_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("bodies", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def placeholders_in(body: str) -> list[str]:
    """The placeholders a body uses, in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(body)))


def unknown_placeholders(body: str) -> list[str]:
    return [name for name in placeholders_in(body) if name not in PLACEHOLDERS]


def render(body: str, values: dict[str, str]) -> str:
    """Fill the placeholders (an unknown or missing value is left as written)."""

    def fill(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return PLACEHOLDER.sub(fill, body)


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=2000)
    # The body per language (X-LANG-4): {"es": "..."}; an empty one is left out.
    bodies: dict[str, Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=dict, max_length=MAX_LANGUAGES
    )


def _out(row: Any, language: str | None = None) -> dict[str, Any]:
    bodies = dict(row.bodies or {})
    out = {
        "template_id": row.template_id,
        "name": row.name,
        "body": row.body,
        "bodies": bodies,
        "placeholders": placeholders_in(" ".join([row.body, *bodies.values()])),
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }
    if language is not None:
        body, used = body_for(row.body, bodies, language)
        out["for_language"] = {"language": used, "body": body}
    return out


def _bodies(given: dict[str, str]) -> dict[str, str]:
    """The per-language bodies to keep: keys are language subtags ("es"), empty ones go."""
    bodies: dict[str, str] = {}
    for key, value in given.items():
        if not LANGUAGE_KEY.match(key):
            raise HTTPException(422, f"bodies: {key[:12]!r} is not a language code like 'es'")
        if value.strip():
            bodies[key] = value.strip()
    return bodies


practice_admin = admin_only("only practice admins change templates")


@router.get("/templates")
async def list_templates(
    request: Request,
    p: Annotated[Principal, Depends(principal)],
    language: Annotated[str | None, Query(max_length=35)] = None,
) -> dict[str, Any]:
    """The practice's reply templates, by name, and the placeholders a body may use; with
    `language` (the patient's, X-LANG-4), the body a reply in it uses."""
    t = templates.c
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(templates).where(t.practice_id == p.practice_id).order_by(t.name, t.template_id)
        )
    return {
        "templates": [_out(r, language) for r in rows],
        "placeholders": list(PLACEHOLDERS),
    }


@router.put(
    "/admin/templates/{template_id}",
    responses={201: {"description": "Created (200: replaced)", "model": dict[str, Any]}},
)
async def put_template(
    template_id: TemplateId,
    body: TemplateIn,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Create or replace a template. 422 naming any placeholder that is not allowed."""
    name, text = body.name.strip(), body.body.strip()
    if not name or not text:
        raise HTTPException(422, "a template needs a name and a body")
    bodies = _bodies(body.bodies)
    unknown = list(
        dict.fromkeys(n for b in (text, *bodies.values()) for n in unknown_placeholders(b))
    )
    if unknown:
        allowed = ", ".join("{{" + n + "}}" for n in PLACEHOLDERS)
        named = ", ".join("{{" + n + "}}" for n in unknown)
        raise HTTPException(422, f"unknown placeholder {named}; allowed: {allowed}")
    t = templates.c
    upsert = insert(templates).values(
        practice_id=p.practice_id,
        template_id=template_id,
        name=name,
        body=text,
        bodies=bodies,
        updated_by=p.user_id,
    )
    stmt = upsert.on_conflict_do_update(
        index_elements=[t.practice_id, t.template_id],
        set_={
            "name": name,
            "body": text,
            "bodies": bodies,
            "updated_by": p.user_id,
            "updated_at": func.now(),
        },
    ).returning(templates)
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        existed = await session.scalar(
            select(func.count())
            .select_from(templates)
            .where(t.practice_id == p.practice_id, t.template_id == template_id)
        )
        row = (await session.execute(stmt)).one()
    log.info("template_set", practice_id=p.practice_id, template_id=template_id, user_id=p.user_id)
    if not existed:
        response.status_code = 201
    return _out(row)


@router.delete("/admin/templates/{template_id}", status_code=204)
async def delete_template(
    template_id: TemplateId, request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> Response:
    t = templates.c
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        result = await session.execute(
            delete(templates).where(t.practice_id == p.practice_id, t.template_id == template_id)
        )
    if not getattr(result, "rowcount", 0):
        raise HTTPException(404, "no such template in your practice")
    log.info(
        "template_deleted", practice_id=p.practice_id, template_id=template_id, user_id=p.user_id
    )
    return Response(status_code=204)
