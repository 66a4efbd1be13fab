"""Flow file → FlowSpec → CompiledFlow, with every problem located as path:line:column."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path as FsPath
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from engine.sla.calendar import CalendarSpec
from engine.language.checks import Inside, check_flow
from engine.language.flow import CompiledFlow, compile_flow
from engine.language.identifiers import did_you_mean
from engine.language.problems import FlowLoadError, FlowProblem
from engine.language.print_spec import PrintSpec
from engine.language.print_templates import MAX_TEMPLATE, PrintTemplateError, compile_print_template
from engine.language.spec import FlowSpec, ReminderSpec, RoleSpec, SlaSpec, StateSpec, TransitionSpec
from engine.language.yaml_safe import Positions, YamlLoadError, document_path, load_yaml
from forms import FIELD_TYPES

MAX_FLOW_BYTES = 1_000_000


Calendars = Mapping[str, CalendarSpec]
# Where the texts of `print:` templates come from: the folder of the flow file, the texts stored with a
# revision (file name → text), or a function giving a flow's stored texts by flow id (the admin editor).
TemplateSource = Union[FsPath, Mapping[str, str], Callable[[str], Mapping[str, str]], None]


def _read(path: str | FsPath) -> bytes:
    try:
        return FsPath(path).read_bytes()
    except OSError as exc:
        raise FlowLoadError([FlowProblem(1, 1, f"cannot read the file: {exc.strerror}", str(path))]) from None


def load_flow_file(path: str | FsPath, calendars: Calendars | None = None) -> CompiledFlow:
    """A flow file; the print templates it names are read from its folder."""
    return load_flow_text(_read(path), source=str(path), calendars=calendars, templates=FsPath(path).parent)


def load_flow_text(text: str | bytes, source: str = "<flow>", calendars: Calendars | None = None,
                   templates: TemplateSource = None) -> CompiledFlow:
    """Parse, validate and compile one flow; raises FlowLoadError with every problem found.

    `templates`: where the files named by `print: - template:` are (see TemplateSource); their texts
    become part of the compiled flow (and of its revision), so nothing reads them again later."""
    found: dict[str, str] = {}
    spec, _positions = parse_flow_spec(text, source, calendars, templates=templates, found_templates=found)
    raw = text.decode("utf-8") if isinstance(text, bytes) else text
    return compile_flow(spec, raw, source, dict(calendars or {}), print_templates=found)


def _template_text(where: TemplateSource, flow: str, name: str) -> str:
    """The text of template file `name`; raises LookupError (missing) or ValueError (unreadable)."""
    if isinstance(where, FsPath):
        path = where / name
        try:
            if not path.is_file():
                raise LookupError(f"template file '{name}' is missing next to the flow file")
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read template file '{name}': {exc.strerror}") from None
        if len(data) > 4 * MAX_TEMPLATE:
            raise ValueError(f"template file '{name}' is larger than {4 * MAX_TEMPLATE:,} bytes")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"template file '{name}' is not UTF-8 text") from None
    stored = (where(flow) if callable(where) else where) or {}
    if name not in stored:
        raise LookupError(f"template file '{name}' is not stored with this flow: put it next to the flow file "
                          "and load the flow from its folder (server start or `relayflow apply`)")
    return stored[name]


def _print_problems(spec: FlowSpec, positions: Positions, source: str, where: TemplateSource,
                    found: dict[str, str]) -> list[FlowProblem]:
    """Read and compile the print templates `spec` names into `found`; the problems, located at `template:`."""
    problems = []
    for i, p in enumerate(spec.prints):
        if p.template is None or p.template in found:
            continue
        path = ("print", i, "template")
        mark = positions.value(path) or positions.locate(path)
        try:
            text = _template_text(where, spec.flow, p.template)
            compile_print_template(text)
        except (LookupError, ValueError) as exc:
            line = f" (line {exc.line})" if isinstance(exc, PrintTemplateError) and exc.line else ""
            prefix = f"template '{p.template}'{line}: " if isinstance(exc, PrintTemplateError) else ""
            problems.append(FlowProblem(mark.line, mark.column, f"print.{i}.template: {prefix}{exc}", source))
            continue
        found[p.template] = text
    return problems


def _yaml(text: str | bytes, source: str) -> tuple[Any, Positions]:
    try:
        return load_yaml(text, max_bytes=MAX_FLOW_BYTES)
    except YamlLoadError as exc:
        problems = [
            FlowProblem(p.mark.line if p.mark else 1, p.mark.column if p.mark else 1, p.message, source)
            for p in exc.problems
        ]
        raise FlowLoadError(problems) from None


def load_calendars_file(path: str | FsPath) -> dict[str, CalendarSpec]:
    """Shared calendars: a file `calendars: {name: {timezone, hours, holidays, ...}}`."""
    source = str(path)
    data, positions = _yaml(_read(path), source)
    if not isinstance(data, dict) or set(data) != {"calendars"} or not isinstance(data["calendars"], dict):
        raise FlowLoadError([FlowProblem(1, 1, "a calendars file has one key, calendars: {name: calendar}", source)])
    out: dict[str, CalendarSpec] = {}
    problems: list[FlowProblem] = []
    for name, body in data["calendars"].items():
        try:
            out[name] = CalendarSpec.model_validate(body)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path_ = ("calendars", name) + _real_path(body, tuple(err["loc"]))
                mark = positions.value(path_) or positions.locate(path_)
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(FlowProblem(mark.line, mark.column, f"{_dotted(path_)}: {msg}", source))
    if problems:
        raise FlowLoadError(problems)
    return out


def parse_flow_spec(text: str | bytes, source: str = "<flow>",
                    calendars: Calendars | None = None, *, templates: TemplateSource = None,
                    found_templates: dict[str, str] | None = None) -> tuple[FlowSpec, Positions]:
    data, positions = _yaml(text, source)
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    if not isinstance(data, dict):
        raise FlowLoadError([FlowProblem(1, 1, "a flow file is a mapping with keys flow, fields, states, transitions, ...", source)])
    try:
        spec = FlowSpec.model_validate(data)
    except ValidationError as exc:
        problems = _structure_problems(exc, data, positions, source)
        # Second pass anyway, on a copy with the broken parts cut out, so that one
        # run reports every problem of the file, not just the structural ones.
        repaired = _without_broken_parts(data, exc)
        if repaired is not None:
            problems += _meaning_problems(repaired[0], positions, source, calendars, quiet=repaired[1],
                                          text=raw)
            problems += _print_problems(repaired[0], positions, source, templates, {})
        raise FlowLoadError(_unique(problems)) from None
    problems = _meaning_problems(spec, positions, source, calendars, text=raw)
    problems += _print_problems(spec, positions, source, templates,
                                found_templates if found_templates is not None else {})
    if problems:
        raise FlowLoadError(problems)
    return spec, positions


def _inside(start: Any, offset: int, text: str) -> Any:
    """The mark `offset` characters into the scalar that starts at `start` (past an opening quote),
    when the scalar stays on its line; else `start`."""
    lines = text.splitlines()
    if not 1 <= start.line <= len(lines):
        return start
    line = lines[start.line - 1]
    first = start.column - 1
    if first < len(line) and line[first] in "'\"":
        first += 1
    column = first + offset
    return type(start)(start.line, column + 1) if column <= len(line) else start


def _meaning_problems(spec: FlowSpec, positions: Positions, source: str, calendars: Calendars | None,
                      quiet: bool = False, text: str = "") -> list[FlowProblem]:
    problems = []
    for path, message in check_flow(spec, calendars or {}):
        if quiet and ("cannot be reached" in message or "no transition leaves it" in message):
            continue  # a transition cut out by the repair would make these guesses
        if path and path[-1] == "__key__":
            mark = positions.key(path[:-1]) or positions.locate(path[:-1])
        elif path and isinstance(path[-1], Inside):
            mark = positions.value(path[:-1]) or positions.locate(path[:-1])
            mark = _inside(mark, int(path[-1]), text)
        else:
            mark = positions.value(path) or positions.locate(path)
        problems.append(FlowProblem(mark.line, mark.column, message, source))
    return problems


def _unique(problems: list[FlowProblem]) -> list[FlowProblem]:
    return list(dict.fromkeys(problems))


_ENTITY_SECTIONS = ("states", "transitions", "roles")


def _without_broken_parts(data: dict[str, Any], exc: ValidationError) -> tuple[FlowSpec, bool] | None:
    """A valid spec made from `data` minus what failed validation, or None when that cannot be had.

    A broken field becomes a plain text field (its name stays known, so references to
    it are not reported twice); a broken key of a state/transition is dropped, or the
    whole entry when the key is required. The bool says entries were dropped.
    """
    import copy

    fixed = copy.deepcopy(data)
    dropped = False
    for err in exc.errors(include_url=False):
        path = _real_path(data, tuple(err["loc"]))
        if not path:
            return None
        head = path[0]
        if head == "fields" and len(path) >= 2 and isinstance(fixed.get("fields"), dict):
            if path[1] in fixed["fields"]:
                fixed["fields"][path[1]] = {"type": "text"}
        elif head in _ENTITY_SECTIONS and len(path) >= 2 and isinstance(fixed.get(head), dict):
            entry = fixed[head].get(path[1])
            if len(path) >= 3 and isinstance(entry, dict) and path[2] not in ("from", "to", "by") and err["type"] != "missing":
                entry.pop(path[2], None)
            else:
                fixed[head].pop(path[1], None)
                dropped = True
        elif head == "reminders" and len(path) >= 2 and isinstance(fixed.get("reminders"), list):
            fixed["reminders"][path[1]] = None
        elif head in fixed and head not in ("flow", "fields", "states"):
            fixed.pop(head)
        else:
            return None
    if isinstance(fixed.get("reminders"), list):
        fixed["reminders"] = [r for r in fixed["reminders"] if r is not None]
    try:
        return FlowSpec.model_validate(fixed), dropped
    except ValidationError:
        return None


# --- pydantic errors → located, readable problems -------------------------------------------

def _model_at(path: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    """The model that validates the mapping at `path` (for 'did you mean' on unknown keys)."""
    n = len(path)
    if n == 0:
        return FlowSpec
    head = path[0]
    if head == "fields" and n == 2:
        node = _walk(data, path)
        ftype = node.get("type") if isinstance(node, dict) else None
        return FIELD_TYPES.get(ftype) if isinstance(ftype, str) else None
    if head == "states" and n == 2:
        return StateSpec
    if head == "states" and n == 3 and path[2] == "sla":
        return SlaSpec
    if head == "transitions" and n == 2:
        return TransitionSpec
    if head == "reminders" and n == 2:
        return ReminderSpec
    if head == "roles" and n == 2:
        return RoleSpec
    if head == "print" and n == 2:
        return PrintSpec
    if head == "calendar" and n == 1:
        return CalendarSpec
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_MISSING = object()


def _walk(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _real_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the parts of a pydantic loc that are not in the document (union tags, validators)."""
    if loc[:1] == ("lookups",):
        loc = ("fields", *loc[1:])  # lookups are written among the fields (engine/language/lookup_spec.py)
    return document_path(data, loc)


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "the flow"


def _structure_problems(exc: ValidationError, data: Any, positions: Positions, source: str) -> list[FlowProblem]:
    seen: set[tuple[int, int, str]] = set()
    out: list[FlowProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        etype = err["type"]
        path = _real_path(data, loc)
        value = _walk(data, path)
        # A value that is a mapping cannot be the failed `str` branch of a union.
        if etype == "string_type" and isinstance(value, dict):
            continue
        mark = positions.value(path) or positions.locate(path)
        if etype == "extra_forbidden":
            key = loc[-1]
            parent = path[:-1] if path and path[-1] == key else path
            model = _model_at(parent, data)
            hint = did_you_mean(str(key), _keys_of(model)) if model else ""
            mark = positions.key(parent + (key,)) or mark
            message = f"unknown key '{key}' in {_dotted(parent)}{hint}"
        elif etype == "missing":
            message = f"{_dotted(path)}: missing required key '{loc[-1]}'"
        elif etype == "union_tag_invalid":
            tag = str(err.get("ctx", {}).get("tag", value))
            kinds = sorted(FIELD_TYPES)
            mark = positions.locate(path + ("type",))
            message = f"{_dotted(path)}: unknown field type '{tag}'{did_you_mean(tag, kinds)} (types: {', '.join(kinds)})"
        elif etype == "union_tag_not_found":
            message = f"{_dotted(path)}: missing required key 'type' (one of {', '.join(sorted(FIELD_TYPES))})"
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            elif msg.startswith("Assertion failed, "):
                msg = msg[len("Assertion failed, "):]
            message = f"{_dotted(path)}: {msg}"
        key3 = (mark.line, mark.column, message)
        if key3 not in seen:
            seen.add(key3)
            out.append(FlowProblem(mark.line, mark.column, message, source))
    return out
