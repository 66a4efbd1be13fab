"""The engine objects the pages use: the API's services, shared so both doors agree."""
from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request

from api.public import ApiServices
from engine.people.users import list_users


def services(request: Request) -> ApiServices:
    return request.app.state.api  # type: ignore[no-any-return]


class People:
    """Active users by id and by role, read once per request (user pickers, names in history)."""

    def __init__(self, request: Request) -> None:
        rows = list_users(services(request).db)
        self.names: dict[int, str] = {int(u["id"]): str(u["display_name"] or u["username"]) for u in rows}  # type: ignore[call-overload]
        self._active = [u for u in rows if u["active"]]
        self.rows = rows  # every user, for pickers that name people by username (ui/approval_view.py)

    def members(self, role: str | None) -> list[tuple[str, str]]:
        """(id, name) of the active users, limited to one role when given."""
        return [(str(u["id"]), self.names[int(u["id"])])  # type: ignore[call-overload]
                for u in self._active if role is None or role in u["roles"]]  # type: ignore[operator]

    def user_options(self, fields: Mapping[str, object]) -> dict[str, list[tuple[str, str]]]:
        """Choices of each `user` field (members of its role)."""
        return {n: self.members(getattr(f, "role", None)) for n, f in fields.items() if getattr(f, "type", "") == "user"}
