"""Who is acting: the user with their roles, as expressions and permission checks see them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    display_name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    locale: str | None = None
    # Acting through an out-of-office delegation: the user stood in for (engine/people/delegation.py);
    # `roles` then holds theirs too, and history records both people.
    on_behalf_of: int | None = None

    def expression_view(self) -> dict[str, object]:
        """What `user` means inside a flow expression."""
        return {"id": self.id, "name": self.display_name or self.username, "username": self.username,
                "roles": sorted(self.roles)}
