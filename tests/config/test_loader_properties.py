"""Whatever text arrives, `load_config` returns a workflow or raises ConfigError, nothing else.

The chat assistant feeds LLM-written YAML straight into the loader, so garbage in any shape
(broken YAML, JSON, wrong types in the right places) must come back as issues that point
at a line, never as a traceback.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cagents.config import WorkflowSpec, load_config
from cagents.errors import ConfigError

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOP_KEYS = ["schema_version", "flow", "state", "nodes", "edges", "config", "webhook", "triggers", "optimization"]
NODE_KEYS = [
    "id", "name", "description", "kind", "prompt", "inputs", "outputs", "output_schema", "tools",
    "tool", "args", "llm", "memory", "code", "sandbox", "retries", "timeout", "max_tool_steps",
]
EDGE_KEYS = ["from", "to", "routes", "loop", "parallel"]
IDS = ["START", "END", "a", "b", "c", "write", "rate"]
FIELD_NAMES = ["topic", "summary", "score", "done", "items", "x", "state"]
TYPE_TEXTS = [
    "str", "int", "float", "bool", "list", "dict", "object", "list[str]", "list[int]",
    "dict[str, int]", "list[object]", "strr", "list[", "dict[int, str]", "", "list[list[float]]",
]


def _check(text: str) -> None:
    """The property: a spec, or a ConfigError whose issues all have a line and a message."""
    try:
        spec = load_config(text, filename="prop.yaml")
    except ConfigError as error:
        assert error.issues
        for issue in error.issues:
            assert issue.message, issue
            assert issue.line is not None and issue.line >= 1, issue.format()
            assert issue.column is None or issue.column >= 1, issue.format()
            assert issue.format().startswith(issue.file)
        assert str(error)
        json.dumps(error.to_dict())
    else:
        assert isinstance(spec, WorkflowSpec)
        assert spec.graph.entry in spec.graph.node_ids


# ---- strategies --------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
    st.sampled_from(IDS + FIELD_NAMES + TYPE_TEXTS + ["{topic}", "{state.x.y}", "default", "1.0"]),
)

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(TOP_KEYS + NODE_KEYS)), children, max_size=4),
    ),
    max_leaves=20,
)


def _mapping_of(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


state_fields = st.dictionaries(
    st.sampled_from(FIELD_NAMES),
    st.one_of(
        st.fixed_dictionaries(
            {"type": st.sampled_from(TYPE_TEXTS)},
            optional={
                "required": st.booleans(),
                "default": scalars,
                "schema": st.one_of(json_values, st.just({"a": "str", "b": {"type": "int"}})),
            },
        ),
        json_values,
    ),
    max_size=5,
)

nodes = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"id": st.sampled_from(IDS)},
            optional={
                "prompt": st.one_of(st.text(max_size=30), st.sampled_from(["{topic}", "Say {state.score}", "{a.b}"])),
                "outputs": st.one_of(st.lists(st.sampled_from(FIELD_NAMES), max_size=3), json_values),
                "kind": st.sampled_from(["llm", "code", "tool", "human", "agent"]),
                "code": st.text(max_size=20),
                "tool": st.sampled_from(["calculator", "shell", "nope", "web_scrape"]),
                "tools": st.lists(st.sampled_from(["calculator", "web_search", "shell", "x.y:z", "bad"]), max_size=3),
                "output_schema": st.one_of(
                    st.fixed_dictionaries({"type": st.sampled_from(TYPE_TEXTS)}),
                    st.just({"type": "object", "fields": [{"name": "score", "type": "int"}]}),
                    json_values,
                ),
                "inputs": st.dictionaries(st.sampled_from(FIELD_NAMES), st.sampled_from(["{topic}", "{item}", "x"])),
            },
        ),
        _mapping_of(NODE_KEYS, json_values),
    ),
    max_size=4,
)

routes = st.lists(
    st.fixed_dictionaries(
        {"to": st.sampled_from(IDS)},
        optional={
            "when": st.sampled_from(["default", "score > 3", "done", "score >", "x.y == 1", "len(items) > 0"]),
            "condition": st.fixed_dictionaries({"logic": st.sampled_from(["default", "state.score >= 8", "(("])}),
        },
    ),
    max_size=3,
)

edges = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"from": st.sampled_from(IDS)},
            optional={
                "to": st.one_of(st.sampled_from(IDS), st.lists(st.sampled_from(IDS), max_size=3)),
                "routes": routes,
                "loop": st.fixed_dictionaries(
                    {
                        "condition_field": st.sampled_from(FIELD_NAMES),
                        "max_iterations": st.integers(-1, 5),
                        "exit_to": st.sampled_from(IDS),
                    },
                    optional={"back_to": st.sampled_from(IDS)},
                ),
                "parallel": st.fixed_dictionaries(
                    {
                        "items_field": st.sampled_from(FIELD_NAMES),
                        "target_node": st.sampled_from(IDS),
                        "collect_field": st.sampled_from(FIELD_NAMES),
                    }
                ),
            },
        ),
        _mapping_of(EDGE_KEYS, json_values),
    ),
    max_size=5,
)

workflows = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.one_of(st.just("1.0"), st.just(1.0), scalars),
        "flow": st.one_of(st.fixed_dictionaries({"name": st.text(max_size=10)}), json_values),
        "state": st.one_of(st.fixed_dictionaries({"fields": state_fields}), json_values),
        "nodes": st.one_of(nodes, json_values),
        "edges": st.one_of(edges, json_values),
        "config": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "llm": _mapping_of(["provider", "model", "temperature", "api_key_env", "api_key"], scalars),
                    "execution": _mapping_of(["timeout", "max_retries", "max_steps"], scalars),
                    "tools": _mapping_of(["allow", "allow_private_network"], json_values),
                    "memory": _mapping_of(["enabled", "default_scope"], scalars),
                },
            ),
            json_values,
        ),
        "webhook": json_values,
        "triggers": json_values,
        "x-extra": json_values,
    },
)

PROMPTS = [
    "Work on {topic}", "Use {state.score} and {done}", "{items[0]}", "{profile.name}", "{item} #{item_index}",
    "{missing}", "{{literal}}", "{a.b.c}", "plain text", "{ topic }", "{x.y[2].z}",
]

typed_fields = st.dictionaries(
    st.sampled_from(FIELD_NAMES + ["profile", "scores"]),
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPE_TEXTS)},
        optional={
            "required": st.booleans(),
            "default": scalars,
            "schema": st.sampled_from([{"name": "str", "age": "int"}, {"x": {"type": "list[str]"}}, {}]),
        },
    ),
    min_size=1,
    max_size=7,
)

shaped_nodes = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(IDS[1:] + ["d", "e"]),
            "prompt": st.sampled_from(PROMPTS),
            "outputs": st.lists(st.sampled_from(FIELD_NAMES + ["profile", "scores"]), max_size=3),
        },
        optional={
            "kind": st.sampled_from(["llm", "code", "tool", "human"]),
            "code": st.just("result = 1"),
            "tool": st.sampled_from(["calculator", "shell", "nope", "web_scrape", "pkg.mod:fn"]),
            "args": st.dictionaries(st.sampled_from(["url", "q"]), st.sampled_from(PROMPTS), max_size=2),
            "tools": st.lists(st.sampled_from(["calculator", "web_search", "shell", "x.y:z", "bad"]), max_size=3),
            "output_schema": st.one_of(
                st.fixed_dictionaries({"type": st.sampled_from(TYPE_TEXTS)}),
                st.fixed_dictionaries(
                    {
                        "type": st.just("object"),
                        "fields": st.lists(
                            st.fixed_dictionaries(
                                {"name": st.sampled_from(FIELD_NAMES), "type": st.sampled_from(TYPE_TEXTS)}
                            ),
                            max_size=3,
                        ),
                    }
                ),
            ),
            "inputs": st.dictionaries(st.sampled_from(["numbers", "text"]), st.sampled_from(PROMPTS), max_size=2),
            "memory": st.just({"enabled": True}),
        },
    ),
    min_size=1,
    max_size=5,
)

targets = st.sampled_from(IDS + ["d", "e"])
shaped_edges = st.lists(
    st.one_of(
        st.fixed_dictionaries({"from": targets, "to": targets}),
        st.fixed_dictionaries({"from": targets, "to": st.lists(targets, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"from": targets, "routes": st.lists(
            st.one_of(
                st.fixed_dictionaries({"when": st.sampled_from(
                    ["default", "score > 3", "done", "score >", "profile.name == 'x'", "len(items) > 0", "nope"]
                ), "to": targets}),
                st.fixed_dictionaries({"condition": st.fixed_dictionaries(
                    {"logic": st.sampled_from(["default", "state.score >= 8", "((", "done and not done"])}
                ), "to": targets}),
            ),
            max_size=3,
        )}),
        st.fixed_dictionaries({"from": targets, "loop": st.fixed_dictionaries(
            {
                "condition_field": st.sampled_from(FIELD_NAMES),
                "max_iterations": st.integers(1, 5),
                "exit_to": targets,
            },
            optional={"back_to": targets},
        )}),
        st.fixed_dictionaries({"from": targets, "parallel": st.fixed_dictionaries(
            {
                "items_field": st.sampled_from(FIELD_NAMES),
                "target_node": targets,
                "collect_field": st.sampled_from(FIELD_NAMES),
            }
        )}),
    ),
    min_size=1,
    max_size=7,
)

shaped_workflows = st.fixed_dictionaries(
    {
        "schema_version": st.just("1.0"),
        "flow": st.just({"name": "w"}),
        "state": st.fixed_dictionaries({"fields": typed_fields}),
        "nodes": shaped_nodes,
        "edges": shaped_edges,
    },
    optional={
        "config": st.fixed_dictionaries(
            {},
            optional={
                "execution": st.fixed_dictionaries({"max_steps": st.integers(1, 100)}),
                "tools": st.fixed_dictionaries({"allow": st.lists(st.sampled_from(["shell", "calculator"]), max_size=2)}),
                "memory": st.just({"enabled": True}),
                "llm": st.fixed_dictionaries({"provider": st.sampled_from(["openai", "ollama", "simulator"])}),
            },
        ),
    },
)

GRAPH_NODES = ["a", "b", "c", "d", "e"]


@st.composite
def graph_workflows(draw: st.DrawFn) -> dict[str, Any]:
    """Valid nodes and fields, one random edge per node: random graphs, not random typos."""
    ids = GRAPH_NODES[: draw(st.integers(min_value=1, max_value=len(GRAPH_NODES)))]
    anywhere = st.sampled_from([*ids, "END"])
    nodes_only = st.sampled_from(ids)
    fields: dict[str, Any] = {
        "topic": {"type": "str", "required": True},
        "flag": {"type": "bool", "default": False},
        "items": {"type": "list[str]", "default": []},
        "collected": {"type": "list[str]", "default": []},
    }
    node_list = []
    for node_id in ids:
        fields[f"out_{node_id}"] = {"type": "str"}
        shared = draw(st.booleans())
        node_list.append({
            "id": node_id,
            "prompt": "Work on {topic}",
            "outputs": ["flag" if shared else f"out_{node_id}"],
        })
    edge_list: list[dict[str, Any]] = [{"from": "START", "to": draw(nodes_only)}]
    for node_id in ids:
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            continue  # a node without an outgoing edge
        kinds = ["to", "to", "routes", "loop", "parallel"] + (["fanout"] if len(ids) > 1 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "to":
            edge: dict[str, Any] = {"from": node_id, "to": draw(anywhere)}
        elif kind == "fanout":
            edge = {"from": node_id, "to": draw(st.lists(nodes_only, min_size=2, max_size=3, unique=True))}
        elif kind == "routes":
            chosen = draw(st.lists(anywhere, min_size=1, max_size=3))
            edge = {"from": node_id, "routes": [{"when": "flag", "to": t} for t in chosen[:-1]]
                    + [{"when": "default", "to": chosen[-1]}]}
        elif kind == "loop":
            loop = {"condition_field": "flag", "max_iterations": draw(st.integers(1, 3)), "exit_to": draw(anywhere)}
            if draw(st.booleans()):
                loop["back_to"] = draw(nodes_only)
            edge = {"from": node_id, "loop": loop}
        else:
            edge = {"from": node_id, "parallel": {
                "items_field": "items", "target_node": draw(nodes_only), "collect_field": "collected",
            }}
        edge_list.append(edge)
    doc: dict[str, Any] = {
        "schema_version": "1.0",
        "flow": {"name": "graph"},
        "state": {"fields": fields},
        "nodes": node_list,
        "edges": edge_list,
    }
    if draw(st.booleans()):
        doc["config"] = {"execution": {"max_steps": 50}}
    return doc


YAML_PIECES = [
    "schema_version: \"1.0\"\n", "flow:\n", "  name: w\n", "state:\n", "  fields:\n",
    "    topic: {type: str}\n", "nodes:\n", "  - id: a\n", "    prompt: \"{topic}\"\n",
    "    outputs: [topic]\n", "edges:\n", "  - {from: START, to: a}\n", "  - {from: a, to: END}\n",
    "- ", ": ", ":", "  ", "\t", "\n", "[", "]", "{", "}", ",", "\"", "'", "|", ">", "&a ", "*a",
    "!!str ", "!!python/object ", "<<: *a\n", "---\n", "...\n", "? ", "#", "%YAML 1.2\n", "\\",
    "key", "1.0", "null", "true", "0x1F", ".inf", "\u00e9", "\ud83d\ude00", "\x00", "\x85", "\ufeff",
]

yamlish = st.lists(st.sampled_from(YAML_PIECES), max_size=40).map("".join)


# ---- properties --------------------------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@SETTINGS
@given(yamlish)
def test_yamlish_text(text: str) -> None:
    _check(text)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_text_decoded_leniently(raw: bytes) -> None:
    _check(raw.decode("latin-1"))


@SETTINGS
@given(json_values)
def test_arbitrary_json_structures_as_yaml(value: Any) -> None:
    _check(yaml.safe_dump(value, allow_unicode=True, sort_keys=False))


@SETTINGS
@given(json_values)
def test_arbitrary_json_structures_as_json(value: Any) -> None:
    _check(json.dumps(value, ensure_ascii=False))


@SETTINGS
@given(workflows)
def test_workflow_shaped_data_as_yaml(data: dict[str, Any]) -> None:
    _check(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@SETTINGS
@given(workflows)
def test_workflow_shaped_data_as_json(data: dict[str, Any]) -> None:
    _check(json.dumps(data, indent=1, ensure_ascii=False))


@SETTINGS
@given(shaped_workflows)
def test_well_shaped_workflows_with_random_graphs(data: dict[str, Any]) -> None:
    """Right keys, random ids, types and templates: this reaches every whole-workflow rule."""
    _check(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@SETTINGS
@given(graph_workflows())
def test_random_graphs_of_valid_nodes(data: dict[str, Any]) -> None:
    """Cycles, fan-outs, maps and dead ends in any combination are reported, never a crash."""
    _check(yaml.safe_dump(data, sort_keys=False))


@SETTINGS
@given(workflows, st.integers(min_value=0, max_value=10_000))
def test_workflow_shaped_data_with_a_cut(data: dict[str, Any], cut: int) -> None:
    """Text cut off anywhere (an LLM stopped mid-answer) is still a clean ConfigError."""
    text = yaml.safe_dump(data, sort_keys=False)
    _check(text[: cut % (len(text) + 1)])


VALID = """\
schema_version: "1.0"
flow: {name: w}
state:
  fields:
    topic: {type: str, required: true}
    score: {type: int}
    done: {type: bool, default: false}
nodes:
  - id: a
    prompt: "Rate {topic}"
    outputs: [score]
  - id: b
    prompt: "Check {score}"
    outputs: [done]
edges:
  - {from: START, to: a}
  - {from: a, to: b}
  - {from: b, to: END}
"""


@SETTINGS
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.sampled_from(list(" :-{}[]\"'\t\nx1#&*!|>")))
def test_one_character_changed_in_a_valid_workflow(position: int, char: str) -> None:
    _check(VALID[:position] + char + VALID[position + 1:])


@SETTINGS
@given(st.integers(min_value=0, max_value=len(VALID) - 1))
def test_one_character_removed_from_a_valid_workflow(position: int) -> None:
    _check(VALID[:position] + VALID[position + 1:])


def test_the_valid_seed_is_valid() -> None:
    spec = load_config(VALID)
    assert spec.graph.successors("a") == ["b"]


@SETTINGS
@given(st.data())
def test_valid_workflows_from_a_generator_load(data: st.DataObject) -> None:
    """Linear chains of any length with any field names validate and keep their order."""
    count = data.draw(st.integers(min_value=1, max_value=6))
    names = [f"n{i}" for i in range(count)]
    fields = {f"f{i}": {"type": data.draw(st.sampled_from(["str", "int", "list[str]", "bool"]))} for i in range(count)}
    fields["topic"] = {"type": "str", "required": True}
    doc = {
        "schema_version": "1.0",
        "flow": {"name": data.draw(st.text(min_size=1, max_size=10).filter(str.strip))},
        "state": {"fields": fields},
        "nodes": [
            {"id": name, "prompt": "Work on {topic}" + (f" and {{f{i - 1}}}" if i else ""), "outputs": [f"f{i}"]}
            for i, name in enumerate(names)
        ],
        "edges": [{"from": "START", "to": names[0]}]
        + [{"from": a, "to": b} for a, b in zip(names, names[1:])]
        + [{"from": names[-1], "to": "END"}],
    }
    as_json = data.draw(st.booleans())
    text = json.dumps(doc) if as_json else yaml.safe_dump(doc, sort_keys=False)
    spec = load_config(text)
    assert [n.id for n in spec.config.nodes] == names
    assert spec.graph.entry == "n0"
    assert spec.graph.successors(names[-1]) == ["END"]
