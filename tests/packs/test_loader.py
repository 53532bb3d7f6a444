"""Loading packs: every problem reported with file, line, expected and found; nothing half-loaded."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from procpilot.domain.errors import PackError, Problem
from procpilot.packs.loader import load_pack
from procpilot.packs.schema import flow_schema, pack_schema
from tests.conftest import RETAIL, ROOT

PACK_YAML = "id: shop\nname: Shop\n"

GOOD_FLOW = """\
id: greet
description: Say hello.
examples: [hello there]
slots:
  name: {type: text}
steps:
  - collect: name
    prompt: Your name?
  - respond: "Hi {{ slots.name }}"
"""


def make_pack(
    root: Path, flows: dict[str, str], pack_yaml: str = PACK_YAML, tools: str | None = None
) -> Path:
    (root / "flows").mkdir(parents=True)
    (root / "pack.yaml").write_text(pack_yaml)
    for name, text in flows.items():
        (root / "flows" / name).write_text(textwrap.dedent(text))
    if tools is not None:
        (root / "tools").mkdir()
        (root / "tools" / "t.py").write_text(textwrap.dedent(tools))
    return root


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(PackError) as caught:
        load_pack(path)
    return caught.value.problems


def test_the_retail_pack_loads(retail_loaded: object) -> None:
    pack = retail_loaded.pack  # type: ignore[attr-defined]
    assert {"return_items", "exchange_items", "cancel_order", "authenticate"} <= set(pack.flows)
    assert "pattern_cancel" in pack.flows  # built-in patterns are merged in


def test_a_good_minimal_pack_loads(tmp_path: Path) -> None:
    loaded = load_pack(make_pack(tmp_path, {"greet.yaml": GOOD_FLOW}))
    assert loaded.pack.flows["greet"].steps[0].id == "1_collect"


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    broken = GOOD_FLOW.replace("  - respond:", "  - respond: [unclosed\n  -")
    [problem] = problems_of(make_pack(tmp_path, {"greet.yaml": broken}))
    assert problem.file == "flows/greet.yaml" and problem.line is not None and problem.line >= 9
    assert "malformed YAML" in problem.message


def test_unknown_slot_type_says_what_was_expected(tmp_path: Path) -> None:
    [problem] = problems_of(
        make_pack(tmp_path, {"greet.yaml": GOOD_FLOW.replace("type: text", "type: colour")})
    )
    assert problem.line == 5
    assert "colour" in problem.found and "email" in problem.expected


def test_references_to_missing_slots_tools_flows_and_steps(tmp_path: Path) -> None:
    flow = """\
    id: broken
    slots:
      a: {type: text}
    steps:
      - collect: b
        prompt: B?
      - call: no_such_tool
      - call_flow: no_such_flow
      - branch:
          - if: slots.zzz > 1
            then: nowhere
      - respond: "{{ slots.a }"
    """
    problems = problems_of(make_pack(tmp_path, {"broken.yaml": flow}))
    text = "\n".join(map(str, problems))
    assert "collects undeclared slot 'b'" in text
    assert "calls unknown tool 'no_such_tool'" in text
    assert "calls unknown flow 'no_such_flow'" in text
    assert "jumps to unknown step 'nowhere'" in text
    assert "unknown slot 'zzz'" in text
    assert "bad template" in text
    lines = {p.message.split(":")[0]: p.line for p in problems}
    assert lines["flow 'broken', step '1_collect'"] == 5


def test_unreachable_steps_and_cycles_without_exit(tmp_path: Path) -> None:
    flow = """\
    id: loop
    slots:
      a: {type: text}
    steps:
      - id: ask
        collect: a
        prompt: A?
      - id: again
        set: {a: null}
        next: ask
      - id: orphan
        respond: never reached
    """
    text = "\n".join(map(str, problems_of(make_pack(tmp_path, {"loop.yaml": flow}))))
    assert "'orphan': is unreachable" in text
    assert "cycle with no way out" in text


def test_a_bad_expression_is_reported_not_evaluated(tmp_path: Path) -> None:
    flow = GOOD_FLOW.replace(
        "  - respond:", "  - branch:\n      - if: __import__('os')\n        then: END\n  - respond:"
    )
    text = "\n".join(map(str, problems_of(make_pack(tmp_path, {"greet.yaml": flow}))))
    assert "bad expression" in text or "unknown function" in text


def test_all_problems_across_files_come_at_once(tmp_path: Path) -> None:
    problems = problems_of(
        make_pack(
            tmp_path,
            {"a.yaml": GOOD_FLOW.replace("type: text", "type: nope"), "b.yaml": "id: x\nsteps: not-a-list\n"},
            pack_yaml="id: shop\nmystery_key: 1\n",
        )
    )
    assert {p.file for p in problems} == {"pack.yaml", "flows/a.yaml", "flows/b.yaml"}


def test_duplicate_flow_ids(tmp_path: Path) -> None:
    text = "\n".join(map(str, problems_of(make_pack(tmp_path, {"a.yaml": GOOD_FLOW, "b.yaml": GOOD_FLOW}))))
    assert "defined twice" in text


def test_a_tool_file_that_fails_to_import_is_a_problem(tmp_path: Path) -> None:
    pack = make_pack(
        tmp_path,
        {"greet.yaml": GOOD_FLOW},
        pack_yaml=PACK_YAML + "tools:\n  python: [tools/t.py]\n",
        tools="raise ValueError('bad')\n",
    )
    [problem] = problems_of(pack)
    assert "ValueError: bad" in problem.message


def test_missing_pack_yaml(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path)
    assert "no pack.yaml" in problem.message


def test_the_published_schemas_are_current() -> None:
    for kind, schema in (("flow", flow_schema()), ("pack", pack_schema())):
        published = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
        assert published == schema, f"schemas/{kind}.schema.json is stale: run `procpilot schema {kind}`"


def test_every_retail_flow_file_validates_against_the_published_schema() -> None:
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "schemas" / "flow.schema.json").read_text())
    for file in (RETAIL / "flows").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(file.read_text()), schema)
