"""Task ownership, departments, manager_of, visibility: department and out-of-office delegation, on SQLite and
PostgreSQL (engine/records/ownership.py, engine/people/departments.py, engine/people/delegation.py)."""
from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.people.delegation import day_span, get_delegation, set_delegation
from engine.people.departments import (
    add_department,
    add_member,
    import_org_chart,
    list_departments,
    manager_of,
    move_department,
    remove_member,
    set_manager,
    update_department,
)
from engine.people.users import load_actor, update_user
from engine.records.access import Access
from engine.records.claims import claim
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.records.inbox import inbox
from engine.records.listing import ListQuery, list_records
from engine.records.ownership import NotAssignee
from engine.storage.schema import history
from tests.api.conftest import ORDER
from tests.conftest import World

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _world(url: str, text: str, **replace: str) -> World:
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    return World(url, text)


def _admin(w: World, name: str = "root", *roles: str) -> Any:
    w.user(name, *roles)
    update_user(w.db, name, is_admin=True)
    return load_actor(w.db, username=name)


# --- task ownership ------------------------------------------------------------------------------

def test_only_the_assignee_their_delegate_or_an_admin_act_on_an_assigned_record(database_url: str,
                                                                                reference_flow_text: str) -> None:
    w = _world(database_url, reference_flow_text)
    try:
        sally, sam = w.user("sally", "sales"), w.user("sam", "sales")
        update_user(w.db, "sally", display_name="王芳")
        sally = load_actor(w.db, username="sally")
        clerk1, clerk2 = w.user("clerk1", "clerk"), w.user("clerk2", "clerk")
        mia = w.user("mia", "manager")
        boss = _admin(w, "boss", "clerk")
        access = Access(w.db, w.registry, w.records)
        draft = access.create(w.flow, sally, ORDER)
        assert draft.assignee_id == sally.id

        # another member of the owner role: refused, with the assignee's name and no id
        with pytest.raises(NotAssignee) as info:
            access.edit(w.flow, draft.id, sam, {"customer": "Other"}, expected_version=draft.version)
        assert info.value.message == ("This 销售订单跟单 is assigned to 王芳; ask them or an administrator to hand it over")
        assert info.value.code == "not_assignee" and isinstance(info.value, Forbidden)
        with pytest.raises(NotAssignee):
            access.transition(w.flow, draft.id, "submit", sam, expected_version=draft.version)
        rec = w.records.get(w.flow, draft.id)
        assert rec.version == draft.version and rec.values["customer"] == ORDER["customer"]  # nothing changed
        # the buttons say so too
        views = {v.option.name: v for v in access.transitions(rec, sam)}
        assert not views["submit"].allowed and "assigned to 王芳" in views["submit"].option.reasons[0]
        assert views["cancel"].visible and not views["cancel"].allowed

        # the assignee acts
        review = access.transition(w.flow, draft.id, "submit", sally, expected_version=draft.version)
        reviewer = clerk1 if review.assignee_id == clerk1.id else clerk2
        other = clerk2 if reviewer is clerk1 else clerk1
        with pytest.raises(NotAssignee):
            access.transition(w.flow, review.id, "approve", other, expected_version=review.version)
        # a role the flow gives besides the state's owner keeps its right (the manager sends it back)
        views = {v.option.name: v for v in access.transitions(review, mia)}
        assert views["send_back"].allowed
        # an administrator acts (holding the role the transition needs)
        done = access.transition(w.flow, review.id, "approve", boss, expected_version=review.version)
        assert done.state == "production"
    finally:
        w.db.dispose()


def test_a_queued_record_is_claimed_then_only_its_claimer_acts(database_url: str, reference_flow_text: str) -> None:
    w = _world(database_url, reference_flow_text)
    try:
        sally, clerk = w.user("sally", "sales"), w.user("clerk1", "clerk")
        paul, pia = w.user("paul", "production"), w.user("pia", "production")
        access = Access(w.db, w.registry, w.records)
        rec = access.create(w.flow, sally, ORDER)
        rec = access.transition(w.flow, rec.id, "submit", sally, expected_version=rec.version)
        rec = access.transition(w.flow, rec.id, "approve", clerk, expected_version=rec.version)
        assert rec.state == "production" and rec.assignee_id is None  # waits in the production queue
        version = claim(w.db, w.registry, w.flow, rec.id, pia, expected_version=rec.version)
        with pytest.raises(NotAssignee) as info:
            access.transition(w.flow, rec.id, "finish_production", paul, expected_version=version,
                              values={"planned_finish": "2026-12-10"})
        assert "Pia" in info.value.message
        with pytest.raises(NotAssignee):
            access.edit(w.flow, rec.id, paul, {"planned_finish": "2026-12-10"}, expected_version=version)
        moved = access.transition(w.flow, rec.id, "finish_production", pia, expected_version=version,
                                  values={"planned_finish": "2026-12-10"})
        assert moved.state == "inspection"
    finally:
        w.db.dispose()


# --- departments ---------------------------------------------------------------------------------

def _chart(w: World) -> None:
    for name in ("ceo", "sales_boss", "east_boss", "ann", "bob", "wes"):
        w.user(name, "sales")
    add_department(w.db, "hq", {"zh-CN": "总部", "en": "Head office"}, manager="ceo")
    add_department(w.db, "sales", "销售部", parent="hq", manager="sales_boss")
    add_department(w.db, "east_sales", "华东销售部", parent="sales", manager="east_boss")
    add_department(w.db, "west_sales", "华西销售部", parent="sales")
    add_member(w.db, "east_sales", "ann")
    add_member(w.db, "east_sales", "east_boss")
    add_member(w.db, "west_sales", "wes")
    add_member(w.db, "sales", "sales_boss")


def test_departments_tree_crud(database_url: str, reference_flow_text: str) -> None:
    w = World(database_url, reference_flow_text)
    try:
        _chart(w)
        tree = list_departments(w.db)
        assert [(d.id, d.depth) for d in tree] == [("hq", 0), ("sales", 1), ("east_sales", 2), ("west_sales", 2)]
        assert tree[0].title == {"zh-CN": "总部", "en": "Head office"} and tree[2].members == ("ann", "east_boss")
        assert tree[1].manager == "sales_boss"
        # bad input: nothing changes
        with pytest.raises(ValidationFailed) as info:
            add_department(w.db, "East Sales", "x")
        assert "snake_case" in info.value.field_errors["id"]
        with pytest.raises(ValidationFailed) as info:
            add_department(w.db, "north", "北方", parent="nowhere")
        assert info.value.field_errors == {"parent": "no department 'nowhere'"}
        with pytest.raises(ValidationFailed):
            add_department(w.db, "sales", "again")
        with pytest.raises(ValidationFailed) as info:
            move_department(w.db, "sales", "east_sales")
        assert "cannot be moved under itself" in info.value.field_errors["parent"]
        with pytest.raises(ValidationFailed) as info:
            set_manager(w.db, "sales", "ghost")
        assert info.value.field_errors == {"manager": "no user 'ghost'"}
        with pytest.raises(NotFound):
            add_member(w.db, "nowhere", "ann")
        with pytest.raises(ValidationFailed):
            update_department(w.db, "sales", title="")
        assert list_departments(w.db) == tree
        # moves carry the subtree; the closure follows
        add_department(w.db, "export", "外贸部", parent="hq")
        move_department(w.db, "east_sales", "export")
        depth = {d.id: (d.parent, d.depth) for d in list_departments(w.db)}
        assert depth["east_sales"] == ("export", 2)
        set_manager(w.db, "export", "bob")
        with w.db.connect() as conn:
            assert manager_of(conn, load_actor(w.db, username="east_boss").id) == load_actor(w.db, username="bob").id
        remove_member(w.db, "east_sales", "ann")
        assert next(d for d in list_departments(w.db) if d.id == "east_sales").members == ("east_boss",)
    finally:
        w.db.dispose()


GOOD_CSV = """id,title.zh-CN,title.en,parent,manager,members
hq,总部,Head office,,ceo,ceo
sales,销售部,Sales,hq,sales_boss,sales_boss
east_sales,华东销售部,East sales,sales,east_boss,ann; east_boss
west_sales,华西销售部,,sales,,wes
"""


def test_csv_import_good_file_and_a_bad_row_imports_nothing(database_url: str, reference_flow_text: str) -> None:
    w = World(database_url, reference_flow_text)
    try:
        for name in ("ceo", "sales_boss", "east_boss", "ann", "wes"):
            w.user(name, "sales")
        # children before parents in the file are fine
        lines = GOOD_CSV.splitlines()
        result = import_org_chart(w.db, "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
        assert (result.created, result.updated, result.memberships) == (4, 0, 5)
        tree = {d.id: d for d in list_departments(w.db)}
        assert tree["east_sales"].title == {"zh-CN": "华东销售部", "en": "East sales"}
        assert tree["west_sales"].title == {"zh-CN": "华西销售部"} and tree["west_sales"].manager is None
        assert tree["east_sales"].members == ("ann", "east_boss") and tree["east_sales"].depth == 2

        before = list_departments(w.db)
        bad = GOOD_CSV.replace("ann; east_boss", "ann; eve") + "north,北方,,nowhere,,\nBad Id,x,,,,\n"
        with pytest.raises(ValidationFailed) as info:
            import_org_chart(w.db, bad.replace("hq,总部", "hq,总部X"))
        errors = info.value.field_errors
        assert errors == {"line 7": "line 7, column id: a department id is a snake_case identifier of at most 64 "
                                    "characters, like east_sales"}
        with pytest.raises(ValidationFailed) as info:
            import_org_chart(w.db, bad.replace("Bad Id,x,,,,\n", "").replace("hq,总部", "hq,总部X"))
        assert info.value.field_errors == {"line 4": "line 4, column members: no user 'eve'",
                                           "line 6": "line 6, column parent: no department 'nowhere'"}
        assert list_departments(w.db) == before  # nothing half-imported: the title of line 2 did not change
        with pytest.raises(ValidationFailed) as info:
            import_org_chart(w.db, "name,boss\nx,y\n")
        assert "first line must name the columns" in str(info.value.field_errors["line 1"])
        with pytest.raises(ValidationFailed) as info:
            import_org_chart(w.db, "id,title,parent\na,A,b\nb,B,a\n")
        assert "cannot be moved under itself" in str(info.value.field_errors)
        assert list_departments(w.db) == before
    finally:
        w.db.dispose()


# --- manager_of ----------------------------------------------------------------------------------

def test_manager_of_walks_up_the_tree(database_url: str, reference_flow_text: str) -> None:
    text = reference_flow_text.replace("    owner: clerk\n    assign: round_robin", "    owner: clerk\n    assign: manager_of:creator")
    assert text != reference_flow_text
    w = World(database_url, text)
    try:
        _chart(w)
        w.user("loner", "sales")
        ids = {name: load_actor(w.db, username=name).id for name in ("ceo", "sales_boss", "east_boss", "ann", "wes", "loner")}
        with w.db.connect() as conn:
            assert manager_of(conn, ids["ann"]) == ids["east_boss"]
            assert manager_of(conn, ids["east_boss"]) == ids["sales_boss"]  # the manager's manager: one up
            assert manager_of(conn, ids["wes"]) == ids["sales_boss"]  # west_sales has no manager: one up
            assert manager_of(conn, ids["sales_boss"]) == ids["ceo"]
            assert manager_of(conn, ids["loner"]) is None  # no department
        update_user(w.db, "east_boss", display_name="East Boss")
        from engine.people.users import set_active
        set_active(w.db, "sales_boss", False)
        with w.db.connect() as conn:
            assert manager_of(conn, ids["wes"]) == ids["ceo"]  # an inactive manager is skipped
        set_active(w.db, "sales_boss", True)

        ann, loner = load_actor(w.db, username="ann"), load_actor(w.db, username="loner")
        rec = w.records.create(w.flow, ann, ORDER)
        rec = w.records.transition(w.flow, rec.id, "submit", ann, expected_version=rec.version)
        assert rec.assignee_id == ids["east_boss"]
        rec = w.records.create(w.flow, loner, ORDER)
        rec = w.records.transition(w.flow, rec.id, "submit", loner, expected_version=rec.version)
        assert rec.assignee_id is None and rec.system["assignee_role"] == "clerk"  # nobody: the owner's queue
    finally:
        w.db.dispose()


MANAGER_FLOW = """\
flow: demo
roles:
  sales: {title: Sales}
  manager: {title: Manager}
fields:
  customer: {type: text}
  rep: {type: user, role: sales}
states:
  draft:
    owner: sales
  review:
    owner: manager
    assign: {manager_of: rep}
  done:
    final: true
transitions:
  submit: {from: draft, to: review, by: sales}
  approve: {from: review, to: done, by: manager}
"""


def test_manager_of_is_checked_when_the_flow_loads() -> None:
    flow = load_flow_text(MANAGER_FLOW)
    assert flow.spec.states["review"].assign is not None
    assert flow.spec.states["review"].assign.manager_of == "rep"

    def problems(text: str) -> list[str]:
        with pytest.raises(FlowLoadError) as info:
            load_flow_text(textwrap.dedent(text), source="flows/demo.yaml")
        return [str(p) for p in info.value.problems]

    found = problems(MANAGER_FLOW.replace("{manager_of: rep}", "{manager_of: repp}"))
    assert len(found) == 1 and found[0].startswith("flows/demo.yaml:13:")
    assert "manager_of takes 'creator' or a user field" in found[0] and "'repp'" in found[0]
    found = problems(MANAGER_FLOW.replace("{manager_of: rep}", "{manager_of: customer}"))
    assert "must be a user field, not text" in found[0]
    found = problems(MANAGER_FLOW.replace("    owner: manager\n", ""))
    assert any("manager_of needs an owner role for state 'review'" in p for p in found)
    assert load_flow_text(MANAGER_FLOW.replace("{manager_of: rep}", "manager_of:creator")).spec.states["review"].assign


# --- visibility: department ----------------------------------------------------------------------

def test_department_visibility_shows_my_department_and_below(database_url: str, reference_flow_text: str) -> None:
    w = _world(database_url, reference_flow_text, **{"\nroles:\n": "\nvisibility: department\nroles:\n"})
    try:
        _chart(w)
        people = {n: load_actor(w.db, username=n) for n in ("ceo", "sales_boss", "east_boss", "ann", "wes", "bob")}
        clerk = w.user("clerk1", "clerk")
        east = w.records.create(w.flow, people["ann"], ORDER)
        west = w.records.create(w.flow, people["wes"], ORDER)
        queued = w.records.create(w.flow, people["bob"], ORDER)  # bob: no department

        def visible(actor: Any) -> list[int]:
            return [r.id for r in list_records(w.db, w.records, w.live, actor, ListQuery(sort="id", limit=200)).records]

        assert visible(people["sales_boss"]) == [east.id, west.id]  # the parent department's member sees both
        assert visible(people["ceo"]) == [east.id, west.id]  # the manager of the top department, two levels up
        assert visible(people["east_boss"]) == [east.id]
        assert visible(people["wes"]) == [west.id]  # not the sibling department's record
        assert visible(people["bob"]) == [queued.id]  # only his own
        access = Access(w.db, w.registry, w.records)
        with pytest.raises(NotFound):
            access.get(w.flow, east.id, people["wes"])
        # the role queue stays visible to the role that works it, whatever the department
        moved = w.records.transition(w.flow, queued.id, "submit", people["bob"], expected_version=queued.version)
        assert moved.assignee_id == clerk.id and visible(clerk) == [queued.id]
    finally:
        w.db.dispose()


# --- delegation ----------------------------------------------------------------------------------

def test_delegation_inbox_acting_history_and_expiry(database_url: str, reference_flow_text: str) -> None:
    w = World(database_url, reference_flow_text)
    try:
        sally = w.user("sally", "sales")
        clerk = w.user("clerk1", "clerk")
        update_user(w.db, "clerk1", display_name="王芳")
        lee = w.user("lee")  # no role of the flow at all
        update_user(w.db, "lee", display_name="李雷")
        clerk, lee = load_actor(w.db, username="clerk1"), load_actor(w.db, username="lee")
        access = Access(w.db, w.registry, w.records)
        rec = access.create(w.flow, sally, ORDER)
        rec = access.transition(w.flow, rec.id, "submit", sally, expected_version=rec.version)
        assert rec.assignee_id == clerk.id
        now = datetime.now(timezone.utc)
        with pytest.raises(NotFound):  # before: lee neither sees nor acts
            access.transition(w.flow, rec.id, "approve", lee, expected_version=rec.version)
        assert inbox(w.db, w.registry, lee) == []

        # refused settings
        with pytest.raises(ValidationFailed) as info:
            set_delegation(w.db, "clerk1", "clerk1", now - timedelta(hours=1), now + timedelta(days=1))
        assert info.value.field_errors == {"delegate": "you cannot hand your tasks to yourself"}
        with pytest.raises(ValidationFailed):
            set_delegation(w.db, "clerk1", "lee", now, now - timedelta(days=1))
        with pytest.raises(ValidationFailed):
            set_delegation(w.db, "clerk1", "ghost", now, now + timedelta(days=1))

        set_delegation(w.db, "clerk1", "lee", now - timedelta(hours=1), now + timedelta(days=2))
        with pytest.raises(ValidationFailed) as info:  # lee handing back to clerk1 on the same days: a cycle
            set_delegation(w.db, "lee", "clerk1", now, now + timedelta(days=1))
        assert "王芳" in info.value.field_errors["delegate"]
        w.user("zoe", "clerk")
        set_delegation(w.db, "lee", "zoe", now, now + timedelta(days=1))
        with pytest.raises(ValidationFailed):  # clerk1 → lee → zoe → clerk1
            set_delegation(w.db, "zoe", "clerk1", now, now + timedelta(days=1))
        set_delegation(w.db, "zoe", "clerk1", now + timedelta(days=5), now + timedelta(days=6))  # later days: no cycle

        items = inbox(w.db, w.registry, lee)
        assert [(i.record_id, i.on_behalf_of, i.on_behalf_of_name) for i in items] == [(rec.id, clerk.id, "王芳")]
        assert [i.record_id for i in inbox(w.db, w.registry, load_actor(w.db, username="zoe"))] == []  # not passed on
        assert access.get(w.flow, rec.id, lee).id == rec.id
        views = {v.option.name: v for v in access.transitions(rec, lee)}
        assert views["approve"].allowed  # with 王芳's roles

        moved = access.transition(w.flow, rec.id, "approve", lee, expected_version=rec.version)
        assert moved.state == "production"
        last = w.records.history(w.flow, rec.id)[-1]
        assert (last["actor_id"], last["on_behalf_of"], last["actor_name"], last["on_behalf_of_name"]) == (
            lee.id, clerk.id, "李雷", "王芳")
        with w.db.connect() as conn:  # "who was responsible, who acted" is one query
            rows = conn.execute(select(history.c.actor_id, history.c.on_behalf_of)
                                .where(history.c.on_behalf_of == clerk.id)).all()
        assert rows == [(lee.id, clerk.id)]

        # expiry: a second task after the end is neither in lee's inbox nor his to act on
        rec2 = access.create(w.flow, sally, ORDER)
        rec2 = access.transition(w.flow, rec2.id, "submit", sally, expected_version=rec2.version)
        set_delegation(w.db, "clerk1", "lee", now - timedelta(days=3), now - timedelta(minutes=1))
        assert get_delegation(w.db, "clerk1") is not None and not get_delegation(w.db, "clerk1").active(now)  # type: ignore[union-attr]
        assert inbox(w.db, w.registry, lee) == []
        with pytest.raises(NotFound):
            access.transition(w.flow, rec2.id, "approve", lee, expected_version=rec2.version)
    finally:
        w.db.dispose()


def test_day_span_covers_whole_days_in_the_zone() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    start, end = day_span(date(2026, 10, 1), date(2026, 10, 7), ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 10, 7, 16, 0, tzinfo=timezone.utc)
