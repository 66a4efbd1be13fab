"""Dashboards of a flow: the boards the reader sees, and one board's figures (JSON, in the reader's language)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from api.dashboard_data import board_json, board_list
from api.deps import CurrentActor, Services
from api.errors import problem_responses
from api.reader_language import wanted_languages

router = APIRouter(prefix="/api/flows", tags=["dashboards"], responses=problem_responses(401, 404, 422))


def _lang(request: Request) -> str | None:
    wanted = wanted_languages(request.url.query, request.headers.get("accept-language"))
    return wanted[0] if wanted else None


@router.get("/{flow}/dashboards", summary="The dashboards of a flow the reader sees")
async def dashboards(flow: str, request: Request, svc: Services, actor: CurrentActor) -> list[dict[str, Any]]:
    return board_list(svc, flow, actor, _lang(request))


@router.get("/{flow}/dashboards/{board}", summary="The figures of one dashboard, over the records the reader may see",
            description="Numbered from 0 in the flow file's order (a flow without `dashboards:` has its default board 0). "
                        "Figures are cached per board and visibility scope for RELAYFLOW_DASHBOARD_TTL seconds; `as_of` "
                        "says when they were computed. Titles and labels are in the language of `?lang=` / Accept-Language.")
async def dashboard(flow: str, board: Annotated[int, Path(ge=0, le=1000)], request: Request, svc: Services,
                    actor: CurrentActor) -> dict[str, Any]:
    lang = _lang(request)
    return await svc.run(board_json, svc, request.app.state, flow, board, actor, lang)
