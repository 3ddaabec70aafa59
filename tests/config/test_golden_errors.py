"""Golden error messages: each invalid config reports the exact place, key, message and hint.

Every case is the shared valid BASE with one small change, so the expected line and column
can be read off the text. An issue must point where a person would put the cursor to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cagents.config import load_config
from cagents.errors import ConfigError, ConfigIssue

FILE = "golden.yaml"

BASE = """\
schema_version: "1.0"
flow:
  name: golden
state:
  fields:
    topic: {type: str, required: true}
    summary: {type: str}
    score: {type: int}
    done: {type: bool, default: false}
    items: {type: "list[str]"}
    results: {type: "list[str]"}
    scores: {type: "list[int]"}
    profile: {type: object, schema: {name: str, age: int}}
nodes:
  - id: write
    prompt: "Write about {topic}"
    outputs: [summary]
  - id: rate
    prompt: "Rate {summary}"
    outputs: [score]
edges:
  - {from: START, to: write}
  - {from: write, to: rate}
  - {from: rate, to: END}
"""
# Line numbers of BASE, for reading the cases below:
#  6 topic   7 summary   8 score   9 done   10 items   11 results   12 scores   13 profile
# 14 nodes:  15 - id: write   16 prompt   17 outputs   18 - id: rate   19 prompt   20 outputs
# 21 edges:  22 START->write  23 write->rate  24 rate->END  (25: first line after BASE)

WRITE_NODE_END = '    outputs: [summary]\n  - id: rate\n'
RATE_EDGE = "  - {from: rate, to: END}\n"


def edit(*changes: tuple[str, str], base: str = BASE) -> str:
    """BASE with each `old` (which must occur exactly once) replaced by `new`."""
    text = base
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def add_node(block: str) -> str:
    """BASE with a node appended after `rate` (its first line becomes line 21)."""
    return edit(("    outputs: [score]\nedges:\n", "    outputs: [score]\n" + block + "edges:\n"))


#: The hint comes from another layer's wording (the expression parser): not pinned here.
ANY_HINT = "<any hint>"


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    line: int
    column: int
    key: str | None
    message: str
    #: substring of the hint; None: the issue must have no hint; ANY_HINT: not checked
    hint: str | None
    #: how many issues the file has in all (None: not checked)
    count: int | None = 1


CASES = [
    # ---- unknown keys ------------------------------------------------------------------------
    Case("unknown_top_level_key", BASE + "confg:\n  execution: {timeout: 5}\n",
         25, 1, "confg", "unknown key `confg` in (top level)", "did you mean `config`?"),
    Case("unknown_node_key_output", edit(("    outputs: [summary]", "    output: [summary]")),
         17, 5, "nodes[0].output", "unknown key `output` in nodes[0]", "the key is `outputs`"),
    Case("unknown_node_key_promt", edit(('    prompt: "Rate', '    promt: "Rate')),
         19, 5, "nodes[1].promt", "unknown key `promt` in nodes[1]", "did you mean `prompt`?"),
    Case("unknown_edge_key", edit((RATE_EDGE, "  - {from: rate, too: END}\n")),
         24, 18, "edges[2].too", "unknown key `too` in edges[2]", "did you mean `to`?"),
    Case("unknown_state_field_key", edit(("score: {type: int}", "score: {type: int, requried: true}")),
         8, 24, "state.fields.score.requried", "unknown key `requried`", "did you mean `required`?"),
    Case("api_key_in_llm", BASE + "config:\n  llm:\n    provider: openai\n    api_key: sk-test-123\n",
         28, 5, "config.llm.api_key", "unknown key `api_key` in config.llm", "api_key_env"),
    # ---- required top-level keys -------------------------------------------------------------
    Case("missing_schema_version", edit(('schema_version: "1.0"\n', "")),
         1, 1, "schema_version", "missing required key `schema_version`", 'schema_version: "1.0"'),
    Case("missing_flow", edit(("flow:\n  name: golden\n", "")),
         1, 1, "flow", "missing required key `flow`", "flow: {name:"),
    Case("missing_state", edit((BASE[BASE.index("state:"):BASE.index("nodes:")], "")),
         1, 1, "state", "missing required key `state`", "state.fields"),
    Case("missing_nodes", edit((BASE[BASE.index("nodes:"):BASE.index("edges:")], "")),
         1, 1, "nodes", "missing required key `nodes`", "add at least one node"),
    Case("missing_edges", edit((BASE[BASE.index("edges:"):], "")),
         1, 1, "edges", "missing required key `edges`", "from: START"),
    Case("wrong_schema_version", edit(('schema_version: "1.0"', 'schema_version: "2.0"')),
         1, 17, "schema_version", "schema_version must be one of 1.0; got the string '2.0'",
         'this runtime reads schema_version "1.0"'),
    Case("empty_nodes_list", edit((BASE[BASE.index("nodes:"):BASE.index("edges:")], "nodes: []\n")),
         14, 8, "nodes", "a workflow needs at least one node", "add nodes and edges"),
    # ---- node ids ----------------------------------------------------------------------------
    Case("missing_node_id", edit(("  - id: rate\n", "  - name: rate\n")),
         18, 5, "nodes[1].id", "missing required key `id` in nodes[1]", "every node needs a unique `id`"),
    Case("duplicate_node_id", add_node('  - id: write\n    prompt: "Again {topic}"\n    outputs: [summary]\n'),
         21, 9, "nodes[2].id", "duplicate node id `write`", "the first is nodes[0]"),
    Case("reserved_id_end", add_node('  - id: END\n    prompt: "Close {topic}"\n    outputs: [summary]\n'),
         21, 9, "nodes[2].id", "`END` is reserved and cannot be a node id", "choose another id"),
    Case("non_identifier_id",
         edit(("id: rate", "id: rate-it"), ("to: rate}", "to: rate-it}"), ("from: rate,", "from: rate-it,")),
         18, 9, "nodes[1].id", "node id `rate-it` is not an identifier", "letters, digits and underscores"),
    # ---- edges -------------------------------------------------------------------------------
    Case("edge_to_unknown_node", edit(("{from: write, to: rate}", "{from: write, to: rat}")),
         23, 23, "edges[1].to", "edge leads to unknown node `rat`", "did you mean `rate`?"),
    Case("edge_from_unknown_node", edit((RATE_EDGE, "  - {from: rat, to: END}\n")),
         24, 12, "edges[2].from", "edge starts at unknown node `rat`", "did you mean `rate`?"),
    Case("second_outgoing_edge", BASE + "  - {from: write, to: END}\n",
         25, 12, "edges[3].from", "node `write` has a second outgoing edge (the first is edges[1])",
         "to: [a, b] runs both in parallel"),
    Case("edge_mixes_to_and_routes",
         edit((RATE_EDGE, "  - {from: rate, to: END, routes: [{when: done, to: END}]}\n")),
         24, 5, "edges[2]", "edge from `rate` mixes to and routes", "exactly one of to, routes, loop, parallel"),
    Case("edge_leads_nowhere", edit((RATE_EDGE, "  - {from: rate}\n")),
         24, 5, "edges[2]", "edge from `rate` leads nowhere", "add to: <node>"),
    Case("no_edge_from_start", edit(("  - {from: START, to: write}\n", "")),
         21, 1, "edges", "no edge from START", "{from: START, to: <first node>}"),
    Case("start_as_target", edit((RATE_EDGE, "  - {from: rate, to: START}\n")),
         24, 22, "edges[2].to", "START cannot be an edge target", "point to a node or END"),
    Case("start_edge_not_linear", edit(("{from: START, to: write}", "{from: START, to: [write, rate]}")),
         22, 5, "edges[0]", "the edge from START must be a plain `to: <node>`", "fan out or branch from there"),
    Case("unreachable_node",
         edit(("    outputs: [score]\nedges:\n",
               '    outputs: [score]\n  - id: orphan\n    prompt: "Hi {topic}"\n    outputs: [done]\nedges:\n'))
         + "  - {from: orphan, to: END}\n",
         21, 9, "nodes[2].id", "node `orphan` is never reached from START", "add an edge to it"),
    Case("node_cannot_reach_end", edit((RATE_EDGE, "")),
         18, 9, "nodes[1].id", "node `rate` can never reach END", "add an edge from `rate`", count=2),
    Case("unbounded_cycle_via_routes",
         edit((RATE_EDGE, '  - {from: rate, routes: [{when: "score < 5", to: write}, {when: default, to: END}]}\n')),
         24, 5, "edges[2]", "cycle write -> rate -> write has no bound", "loop edge with max_iterations"),
    # ---- loops ---------------------------------------------------------------------------------
    Case("loop_condition_field_unknown",
         edit((RATE_EDGE, "  - {from: rate, loop: {condition_field: don, max_iterations: 3, exit_to: END}}\n")),
         24, 42, "edges[2].loop.condition_field", "loop condition field `don` is not a state field",
         "did you mean `done`?"),
    Case("loop_condition_field_not_bool",
         edit((RATE_EDGE, "  - {from: rate, loop: {condition_field: score, max_iterations: 3, exit_to: END}}\n")),
         24, 42, "edges[2].loop.condition_field", "loop condition field `score` is int, not bool",
         "make it a bool"),
    Case("loop_exit_to_unknown",
         edit((RATE_EDGE, "  - {from: rate, loop: {condition_field: done, max_iterations: 3, exit_to: ENDD}}\n")),
         24, 76, "edges[2].loop.exit_to", "edge leads to unknown node `ENDD`", "did you mean `END`?"),
    Case("loop_max_iterations_zero",
         edit((RATE_EDGE, "  - {from: rate, loop: {condition_field: done, max_iterations: 0, exit_to: END}}\n")),
         24, 64, "edges[2].loop.max_iterations", "greater than or equal to 1", None),
    Case("loop_missing_exit_to",
         edit((RATE_EDGE, "  - {from: rate, loop: {condition_field: done, max_iterations: 3}}\n")),
         24, 18, "edges[2].loop.exit_to", "missing required key `exit_to` in edges[2].loop",
         "say where the run goes after the loop"),
    # ---- parallel maps -------------------------------------------------------------------------
    Case("parallel_items_not_list",
         edit(("  - {from: write, to: rate}\n",
               "  - {from: write, parallel: {items_field: summary, target_node: rate, collect_field: scores}}\n")),
         23, 43, "edges[1].parallel.items_field", "items field `summary` is str, not a list",
         "map over a list field"),
    Case("parallel_collect_not_list",
         edit(("  - {from: write, to: rate}\n",
               "  - {from: write, parallel: {items_field: items, target_node: rate, collect_field: score}}\n")),
         23, 84, "edges[1].parallel.collect_field", "collect field `score` is int, not a list",
         "collected in item order into a list"),
    Case("parallel_collect_item_type_mismatch",
         edit(("  - {from: write, to: rate}\n",
               "  - {from: write, parallel: {items_field: items, target_node: rate, collect_field: results}}\n")),
         23, 84, "edges[1].parallel.collect_field", "`results`", "int"),
    Case("parallel_target_also_targeted",
         add_node('  - id: check\n    prompt: "Check {score}"\n    outputs: [done]\n').replace(
             "  - {from: write, to: rate}\n  - {from: rate, to: END}\n",
             "  - {from: write, parallel: {items_field: items, target_node: rate, collect_field: scores}}\n"
             "  - {from: rate, to: check}\n"
             "  - {from: check, loop: {condition_field: done, max_iterations: 2, back_to: rate, exit_to: END}}\n"),
         18, 9, "nodes[1].id",
         "node `rate` runs once per item of a parallel map and cannot also be the target of `check`",
         "route other edges to a different node"),
    Case("parallel_target_unknown",
         edit(("  - {from: write, to: rate}\n",
               "  - {from: write, parallel: {items_field: items, target_node: rat, collect_field: scores}}\n")),
         23, 63, "edges[1].parallel.target_node", "parallel target `rat` is not a node", "did you mean `rate`?"),
    # ---- fan-out -------------------------------------------------------------------------------
    Case("fanout_branches_write_same_field",
         add_node('  - id: rate2\n    prompt: "Rate again {summary}"\n    outputs: [score]\n').replace(
             "{from: write, to: rate}", "{from: write, to: [rate, rate2]}") + "  - {from: rate2, to: END}\n",
         26, 23, "edges[1].to", "parallel branches `rate` and `rate2` both write `score`",
         "give each its own output fields"),
    Case("fanout_one_target", edit(("{from: write, to: rate}", "{from: write, to: [rate]}")),
         23, 23, "edges[1].to", "a fan-out needs at least two targets", "write to: b for one target"),
    # ---- outputs -------------------------------------------------------------------------------
    Case("output_not_in_state", edit(("outputs: [summary]", "outputs: [summry]")),
         17, 15, "nodes[0].outputs[0]", "node `write` writes `summry`, which is not a state field",
         "did you mean `summary`?"),
    Case("output_type_mismatch",
         edit(("    outputs: [summary]\n", "    outputs: [summary]\n    output_schema: {type: int}\n")),
         18, 27, "nodes[0].output_schema.type", "node `write` outputs int, but state field `summary` is str",
         "make the two types agree"),
    Case("output_list_item_type_mismatch",
         edit(("    outputs: [score]\n", '    outputs: [results]\n    output_schema: {type: "list[int]"}\n')),
         21, 27, "nodes[1].output_schema.type",
         "node `rate` outputs list[int], but state field `results` is list[str]", "make the two types agree"),
    Case("output_schema_field_not_in_outputs",
         edit(("    outputs: [score]\n",
               "    outputs: [score]\n    output_schema:\n      type: object\n      fields:\n"
               "        - {name: score, type: int}\n        - {name: done, type: bool}\n")),
         25, 18, "nodes[1].output_schema.fields[1].name",
         "output_schema field `done` of node `rate` is not in its outputs", "add `done` to outputs"),
    Case("output_missing_from_output_schema_fields",
         edit(("    outputs: [score]\n",
               "    outputs: [score, done]\n    output_schema:\n      type: object\n      fields:\n"
               "        - {name: score, type: int}\n")),
         23, 7, "nodes[1].output_schema.fields",
         "output `done` of node `rate` is missing from output_schema.fields", "{name: done, type: ...}"),
    Case("single_value_output_schema_two_outputs",
         edit(("    outputs: [score]\n", "    outputs: [score, done]\n    output_schema: {type: int}\n")),
         21, 27, "nodes[1].output_schema.type",
         "node `rate` has a single-value output_schema (int) but 2 outputs", "use type: object with fields"),
    Case("node_without_outputs", edit(("    outputs: [score]\n", "")),
         18, 5, "nodes[1]", "node `rate` has no `outputs`", "outputs: [field]"),
    Case("llm_node_without_prompt", edit(('    prompt: "Rate {summary}"\n', "")),
         18, 5, "nodes[1]", "node `rate` is an LLM node without a `prompt`", "set kind: code / tool / human"),
    # ---- placeholders --------------------------------------------------------------------------
    Case("placeholder_unknown_in_quoted_prompt", edit(("{topic}", "{topc}")),
         16, 26, "nodes[0].prompt", "placeholder `{topc}` does not match a state field or node input",
         "did you mean `topic`?"),
    Case("placeholder_unknown_in_block_prompt_second_line",
         edit(('    prompt: "Write about {topic}"\n',
               "    prompt: |\n      Write about {topic}.\n      Focus on {topc} please.\n")),
         18, 16, "nodes[0].prompt", "placeholder `{topc}` does not match a state field or node input",
         "did you mean `topic`?"),
    Case("placeholder_unknown_in_folded_prompt_second_line",
         edit(('    prompt: "Write about {topic}"\n',
               "    prompt: >\n      Write about {topic}.\n      Focus on {topc} please.\n")),
         18, 16, "nodes[0].prompt", "placeholder `{topc}` does not match a state field or node input",
         "did you mean `topic`?"),
    Case("placeholder_unknown_after_escape_in_quoted_prompt",
         edit(('    prompt: "Write about {topic}"\n', '    prompt: "Say \\"hi\\" about {topc}"\n')),
         16, 31, "nodes[0].prompt", "placeholder `{topc}` does not match a state field or node input",
         "did you mean `topic`?"),
    Case("placeholder_nested_path_not_in_schema",
         edit(('"Rate {summary}"', '"Rate {summary} for {profile.nmae}"')),
         19, 33, "nodes[1].prompt", "placeholder `{profile.nmae}` names a path that does not exist",
         "did you mean `name`?"),
    Case("placeholder_explicit_state_unknown", edit(("{topic}", "{state.topc}")),
         16, 26, "nodes[0].prompt", "placeholder `{state.topc}` does not match a state field",
         "did you mean `topic`?"),
    # ---- conditions ----------------------------------------------------------------------------
    Case("condition_syntax_error",
         edit((RATE_EDGE, '  - {from: rate, routes: [{when: "score = 5", to: END}, {when: default, to: END}]}\n')),
         24, 41, "edges[2].routes[0].when", "invalid condition `score = 5`", ANY_HINT),
    Case("condition_unknown_field",
         edit((RATE_EDGE, '  - {from: rate, routes: [{when: "scor >= 5", to: END}, {when: default, to: END}]}\n')),
         24, 34, "edges[2].routes[0].when", "`scor` in `scor >= 5` is not a state field",
         "did you mean `score`?"),
    Case("condition_logic_unknown_field",
         edit((RATE_EDGE, "  - from: rate\n    routes:\n      - condition: {logic: \"state.scor >= 5\"}\n"
                          "        to: END\n      - condition: {logic: default}\n        to: END\n")),
         26, 28, "edges[2].routes[0].condition.logic", "`scor` in `state.scor >= 5` is not a state field",
         "did you mean `score`?"),
    Case("condition_nested_path_not_in_schema",
         edit((RATE_EDGE, '  - {from: rate, routes: [{when: "profile.agee > 3", to: END}, {when: default, to: END}]}\n')),
         24, 34, "edges[2].routes[0].when", "`profile.agee` in `profile.agee > 3` does not exist inside profile",
         "did you mean `age`?"),
    Case("default_route_not_last",
         edit((RATE_EDGE, "  - {from: rate, routes: [{when: default, to: END}, {when: done, to: END}]}\n")),
         24, 27, "edges[2].routes[0]", "the default route must be the last one", "move the default to the end"),
    Case("route_with_condition_and_when",
         edit((RATE_EDGE, "  - {from: rate, routes: [{when: done, condition: {logic: done}, to: END}, {when: default, to: END}]}\n")),
         24, 27, "edges[2].routes[0]", "a route needs exactly one of `condition: {logic: ...}` or `when: ...`",
         "e.g. when: state.score >= 8"),
    # ---- types and defaults --------------------------------------------------------------------
    Case("unknown_type_in_list", edit(('items: {type: "list[str]"}', 'items: {type: "list[strr]"}')),
         10, 19, "state.fields.items.type", "unknown type `strr` in `list[strr]`", "did you mean `str`?"),
    Case("dict_with_non_str_keys", edit(('results: {type: "list[str]"}', 'results: {type: "dict[int, str]"}')),
         11, 21, "state.fields.results.type", "dict keys must be str", "types are str, int"),
    Case("default_of_wrong_type", edit(("score: {type: int}", "score: {type: int, default: high}")),
         8, 33, "state.fields.score.default", "default of `score`: expected int, got str \"high\"", "int"),
    Case("list_default_item_wrong_type",
         edit(('scores: {type: "list[int]"}', 'scores: {type: "list[int]", default: [1, two]}')),
         12, 42, "state.fields.scores.default", "default of `scores`[1]: expected int, got str \"two\"",
         "list[int]"),
    Case("required_with_default",
         edit(("topic: {type: str, required: true}", "topic: {type: str, required: true, default: AI}")),
         6, 40, "state.fields.topic.default", "state field `topic` is required and also has a default",
         "drop `required: true` or drop the default"),
    Case("schema_on_scalar_type", edit(("summary: {type: str}", "summary: {type: str, schema: {a: str}}")),
         7, 21, "state.fields.summary.type", "`schema` only applies to `object` or `list[object]`",
         "remove `schema`"),
    # ---- tools ---------------------------------------------------------------------------------
    Case("unknown_tool", edit(("    outputs: [score]\n", "    outputs: [score]\n    tools: [web_serch]\n")),
         21, 13, "nodes[1].tools[0]", "unknown tool `web_serch`", "did you mean `web_search`?"),
    Case("unsafe_tool_not_allowed", edit(("    outputs: [score]\n", "    outputs: [score]\n    tools: [shell]\n")),
         21, 13, "nodes[1].tools[0]", "tool `shell` runs commands or reads the environment and is off by default",
         "config: {tools: {allow: [shell]}}"),
    Case("tool_node_without_tool",
         edit(('  - id: rate\n    prompt: "Rate {summary}"\n', "  - id: rate\n    kind: tool\n")),
         18, 5, "nodes[1]", "node `rate` is a tool node without `tool`", "add tool: <tool name>"),
    # ---- llm settings --------------------------------------------------------------------------
    Case("unknown_provider", BASE + "config:\n  llm:\n    provider: opnai\n",
         27, 15, "config.llm.provider", "unknown provider `opnai`", "did you mean `openai`?"),
    Case("temperature_out_of_range", BASE + "config:\n  llm:\n    temperature: 3\n",
         27, 18, "config.llm.temperature", "config.llm.temperature: input should be less than or equal to 2",
         None),
    Case("unknown_node_kind", edit(("  - id: rate\n", "  - id: rate\n    kind: agent\n")),
         19, 11, "nodes[1].kind", "nodes[1].kind must be one of llm, code, tool, human; got the string 'agent'",
         "use one of: llm, code, tool, human"),
    Case("outputs_not_a_list", edit(("outputs: [score]", "outputs: score")),
         20, 14, "nodes[1].outputs", "nodes[1].outputs must be a list, got the string 'score'",
         "write a list: outputs: [field_name]"),
    # ---- YAML ----------------------------------------------------------------------------------
    Case("duplicate_yaml_key", edit(('    prompt: "Write about {topic}"\n',
                                     '    prompt: "Write about {topic}"\n    prompt: "Again"\n')),
         17, 5, "nodes[0].prompt", "duplicate key 'prompt' in the same mapping", "already set at line 16"),
    Case("tab_indentation", edit(("  name: golden", "\tname: golden")),
         3, 1, None, "invalid YAML", "indent with spaces, not tabs"),
    Case("yaml_unclosed_bracket", edit(("outputs: [summary]", "outputs: [summary")),
         18, 7, None, "invalid YAML", "the '[' opened at line 17, column 14 is not closed"),
    Case("yaml_unclosed_quote", edit(('"Rate {summary}"', '"Rate {summary}')),
         19, 13, None, "invalid YAML", "this quoted string is never closed"),
    Case("top_level_list", "- schema_version: '1.0'\n- flow: {name: x}\n",
         1, 1, None, "a workflow file must be a mapping at the top level, found a list", "start the file with"),
    Case("top_level_scalar", "just some words\n",
         1, 1, None, "a workflow file must be a mapping at the top level", "start the file with"),
    Case("empty_file", "", 1, 1, None, "the file is empty", "a workflow needs at least"),
    Case("comments_only_file", "# nothing here yet\n", 1, 1, None, "the file is empty", "a workflow needs"),
]


def _issues(text: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config(text, filename=FILE)
    return caught.value.issues


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def test_base_is_valid() -> None:
    spec = load_config(BASE, filename=FILE)
    assert [n.id for n in spec.config.nodes] == ["write", "rate"]
    assert BASE.splitlines()[21 - 1] == "edges:"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_error(case: Case) -> None:
    issues = _issues(case.text)
    matching = [issue for issue in issues if case.message in issue.message]
    listing = "\n".join(issue.format() for issue in issues)
    assert len(matching) == 1, f"expected one issue with {case.message!r}, got:\n{listing}"
    issue = matching[0]
    assert (issue.line, issue.column) == (case.line, case.column), listing
    assert issue.key == case.key, listing
    assert issue.file == FILE
    if case.hint is None:
        assert issue.hint is None, listing
    elif case.hint != ANY_HINT:
        assert issue.hint is not None and case.hint in issue.hint, listing
    if case.count is not None:
        assert len(issues) == case.count, listing


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_issue_format_is_file_line_col_message_hint(case: Case) -> None:
    issues = _issues(case.text)
    for issue in issues:
        expected = f"{FILE}:{issue.line}:{issue.column}: {issue.message}"
        if issue.hint:
            expected += f" ({issue.hint})"
        assert issue.format() == expected
        assert issue.line is not None and issue.line >= 1
        assert issue.column is not None and issue.column >= 1
        assert issue.message and not issue.message.endswith(".")


def test_issues_are_sorted_by_position_and_all_reported() -> None:
    text = edit(
        ("outputs: [summary]", "outputs: [summry]"),
        ("{from: rate, to: END}", "{from: rate, to: ENDD}"),
        ('score: {type: int}', 'score: {type: integr}'),
    )
    issues = _issues(text)
    positions = [(i.line, i.column) for i in issues]
    assert positions == sorted(positions)
    assert [i.key for i in issues] == ["state.fields.score.type", "nodes[0].outputs[0]", "edges[2].to"]


def test_several_shape_errors_are_reported_together() -> None:
    text = edit(("    outputs: [summary]", "    output: [summary]"), ('    prompt: "Rate', '    promt: "Rate'))
    issues = _issues(text)
    assert [(i.line, i.key) for i in issues] == [(17, "nodes[0].output"), (19, "nodes[1].promt")]


def test_error_summary_lists_every_issue() -> None:
    text = edit(("outputs: [summary]", "outputs: [summry]"), ("{from: rate, to: END}", "{from: rate, to: ENDD}"))
    with pytest.raises(ConfigError) as caught:
        load_config(text, filename=FILE)
    summary = str(caught.value)
    assert summary.startswith("2 problems:")
    for issue in caught.value.issues:
        assert issue.format() in summary


def test_api_key_value_is_not_echoed() -> None:
    text = BASE + "config:\n  llm:\n    api_key: sk-secret-value-123\n"
    with pytest.raises(ConfigError) as caught:
        load_config(text, filename=FILE)
    assert "sk-secret-value-123" not in str(caught.value)
    assert "sk-secret-value-123" not in repr(caught.value.to_dict())


def test_default_filename_when_none_given() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(edit(("{topic}", "{topc}")))
    assert caught.value.issues[0].file == "<config>"
    assert caught.value.issues[0].format().startswith("<config>:16:26: ")


# ---- x- keys -----------------------------------------------------------------------------------

X_EVERYWHERE = """\
schema_version: "1.0"
x-owner: data-team
flow:
  name: extended
  x-ticket: JIRA-12
state:
  x-note: state note
  fields:
    topic: {type: str, required: true, x-ui: textarea}
    done: {type: bool, default: false}
    summary: {type: str}
nodes:
  - id: write
    x-color: "#ff0000"
    prompt: "Write about {topic}"
    outputs: [summary]
    output_schema: {type: str, x-why: plain text}
    llm: {temperature: 0.2, x-budget: 3}
    tools:
      - {name: calculator, x-reason: sums}
  - id: check
    prompt: "Is this done? {summary}"
    outputs: [done]
edges:
  - {from: START, to: write, x-label: begin}
  - from: write
    x-label: review
    routes:
      - {when: done, to: END, x-why: finished}
      - {condition: {logic: default, x-note: fallback}, to: check}
  - from: check
    loop: {condition_field: done, max_iterations: 2, exit_to: END, x-k: 1}
config:
  x-team: a
  llm: {provider: openai, x-tier: cheap}
  execution: {timeout: 30, x-why: short}
  observability:
    x-extra: 1
    mlflow: {enabled: false, x-host: none}
webhook: {enabled: false, x-note: later}
"""


def test_x_keys_are_accepted_anywhere_and_ignored() -> None:
    spec = load_config(X_EVERYWHERE, filename=FILE)
    assert spec.config.flow.name == "extended"
    assert spec.config.node("write").output_schema is not None
    assert spec.config.node("write").llm is not None
    dumped = spec.config.model_dump(by_alias=True)
    assert "x-owner" not in dumped and "x-color" not in str(dumped)


def test_x_prefix_is_needed_for_own_keys() -> None:
    issues = _issues(X_EVERYWHERE.replace("x-color", "color"))
    assert [(i.line, i.column, i.key) for i in issues] == [(14, 5, "nodes[0].color")]
    assert "prefix a key with `x-`" in (issues[0].hint or "")


# ---- near misses that are valid ----------------------------------------------------------------


def test_map_target_inputs_may_use_item_and_item_index() -> None:
    """The map item is `{item}` (and `{item_index}`) in the target's inputs as in its prompt."""
    text = edit(
        ("  - id: rate\n    prompt: \"Rate {summary}\"\n",
         "  - id: rate\n    prompt: \"Rate {text} (number {pos})\"\n"
         "    inputs:\n      text: \"{item}\"\n      pos: \"{item_index}\"\n"),
        ("  - {from: write, to: rate}\n",
         "  - {from: write, parallel: {items_field: items, target_node: rate, collect_field: scores}}\n"),
    )
    spec = load_config(text, filename=FILE)
    assert spec.config.node("rate").inputs == {"text": "{item}", "pos": "{item_index}"}


def test_item_is_unknown_outside_a_map_target() -> None:
    issues = _issues(edit(('"Rate {summary}"', '"Rate {item}"')))
    assert [(i.line, i.column, i.key) for i in issues] == [(19, 19, "nodes[1].prompt")]
    assert issues[0].message == "placeholder `{item}` does not match a state field or node input"


def test_placeholder_in_plain_scalar_prompt() -> None:
    issues = _issues(edit(('    prompt: "Write about {topic}"', "    prompt: Write about {topc} now")))
    assert [(i.line, i.column) for i in issues] == [(16, 25)]


def test_placeholder_in_node_inputs_is_checked() -> None:
    text = edit(("    outputs: [summary]\n", '    outputs: [summary]\n    inputs:\n      subject: "{topik}"\n'))
    issues = _issues(text)
    assert [(i.line, i.column, i.key, i.hint) for i in issues] == [
        (19, 17, "nodes[0].inputs.subject", "did you mean `topic`?")
    ]


def test_node_input_names_are_usable_in_the_prompt() -> None:
    text = edit(
        ('    prompt: "Write about {topic}"\n    outputs: [summary]\n',
         '    prompt: "Write about {subject} for {profile.name}"\n    outputs: [summary]\n'
         '    inputs:\n      subject: "{topic}"\n'),
    )
    load_config(text, filename=FILE)
