"""Summary templates: the system ones (read-only, for everyone) and each user's own."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Template
from api_service.deps import CurrentUserDep, DbDep, readable_template
from api_service.schemas.templates import TemplateIn, TemplateOut, TemplatePatch

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])


async def writable(session: AsyncSession, template_id: str, user_id: str) -> Template:
    template = await readable_template(session, template_id, user_id)
    if template.is_system:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "system templates are read-only; copy one to change it")
    return template


@router.get("/", response_model=list[TemplateOut])
async def list_templates(user: CurrentUserDep, session: DbDep, language: str | None = None) -> list[TemplateOut]:
    statement = select(Template).where(or_(Template.user_id.is_(None), Template.user_id == user.id))
    if language:
        statement = statement.where(Template.language == language)
    rows = (await session.execute(statement.order_by(Template.is_system.desc(), Template.name))).scalars()
    return [TemplateOut.model_validate(r) for r in rows]


@router.post("/", response_model=TemplateOut, status_code=status.HTTP_201_CREATED)
async def create_template(body: TemplateIn, user: CurrentUserDep, session: DbDep) -> TemplateOut:
    template = Template(
        user_id=user.id,
        **body.model_dump(exclude={"sections", "extraction_schema"}),
        sections=[s.model_dump() for s in body.sections],
        extraction_schema=body.extraction_schema or None,
    )
    session.add(template)
    await session.commit()
    return TemplateOut.model_validate(template)


@router.get("/{template_id}", response_model=TemplateOut)
async def get_template(template_id: str, user: CurrentUserDep, session: DbDep) -> TemplateOut:
    return TemplateOut.model_validate(await readable_template(session, template_id, user.id))


@router.patch("/{template_id}", response_model=TemplateOut)
async def update_template(template_id: str, body: TemplatePatch, user: CurrentUserDep, session: DbDep) -> TemplateOut:
    template = await writable(session, template_id, user.id)
    for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():  # null means "unchanged"
        setattr(template, key, value or None if key == "extraction_schema" else value)
    await session.commit()
    return TemplateOut.model_validate(template)


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: str, user: CurrentUserDep, session: DbDep) -> Response:
    await session.delete(await writable(session, template_id, user.id))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
