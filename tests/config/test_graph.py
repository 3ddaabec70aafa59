"""The workflow graph: successors per edge kind, reachability, joins of fan-outs, unbounded cycles."""

from __future__ import annotations

from typing import Any

import pytest

from cagents.config import END, START, WorkflowConfig, load_config
from cagents.config.graph import Graph, build_graph
from cagents.errors import ConfigError


def workflow(edges: list[dict[str, Any]], ids: str = "abcdefgh", **config: Any) -> WorkflowConfig:
    """A config with one LLM node per letter of `ids`, each writing its own field."""
    fields: dict[str, Any] = {"topic": {"type": "str"}, "flag": {"type": "bool"}}
    fields |= {f"out_{i}": {"type": "str"} for i in ids}
    fields["items"] = {"type": "list[str]"}
    fields["collected"] = {"type": "list[str]"}
    data: dict[str, Any] = {
        "schema_version": "1.0",
        "flow": {"name": "g"},
        "state": {"fields": fields},
        "nodes": [{"id": i, "prompt": "{topic}", "outputs": [f"out_{i}"]} for i in ids],
        "edges": edges,
    }
    if config:
        data["config"] = config
    return WorkflowConfig.model_validate(data)


def graph(edges: list[dict[str, Any]], ids: str = "abcdefgh", **config: Any) -> Graph:
    return build_graph(workflow(edges, ids, **config))


def linear(*chain: str) -> list[dict[str, Any]]:
    """Edges START -> chain[0] -> ... -> END."""
    steps = [START, *chain, END]
    return [{"from": a, "to": b} for a, b in zip(steps, steps[1:])]


# ---- successors ------------------------------------------------------------------------------


def test_linear_successors_and_entry() -> None:
    g = graph(linear("a", "b", "c"), ids="abc")
    assert g.entry == "a"
    assert g.node_ids == ("a", "b", "c")
    assert g.successors(START) == ["a"]
    assert g.successors("a") == ["b"]
    assert g.successors("c") == [END]
    assert g.successors(END) == []


def test_fanout_successors_keep_order() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["c", "b"]},
               {"from": "b", "to": END}, {"from": "c", "to": END}], ids="abc")
    assert g.successors("a") == ["c", "b"]
    assert g.out["a"].kind == "fanout"


def test_route_successors_are_deduplicated_in_order() -> None:
    g = graph([
        {"from": START, "to": "a"},
        {"from": "a", "routes": [
            {"when": "flag", "to": "c"}, {"when": "topic == 'x'", "to": "b"},
            {"condition": {"logic": "topic == 'y'"}, "to": "c"}, {"when": "default", "to": END},
        ]},
        {"from": "b", "to": END}, {"from": "c", "to": END},
    ], ids="abc")
    assert g.successors("a") == ["c", "b", END]


def test_loop_successors_are_the_loop_node_and_the_exit() -> None:
    g = graph([{"from": START, "to": "a"},
               {"from": "a", "loop": {"condition_field": "flag", "max_iterations": 3, "exit_to": "b"}},
               {"from": "b", "to": END}], ids="ab")
    assert g.successors("a") == ["a", "b"]


def test_loop_back_to_another_node() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": "b"},
               {"from": "b", "loop": {"condition_field": "flag", "max_iterations": 3, "back_to": "a",
                                      "exit_to": END}}], ids="ab")
    assert g.successors("b") == ["a", END]
    assert g.predecessors["a"] == [START, "b"]


def test_parallel_successor_is_the_target_and_map_targets_are_recorded() -> None:
    g = graph([{"from": START, "to": "a"},
               {"from": "a", "parallel": {"items_field": "items", "target_node": "b", "collect_field": "collected"}},
               {"from": "b", "to": "c"}, {"from": "c", "to": END}], ids="abc")
    assert g.successors("a") == ["b"]
    assert g.map_targets == {"b": "a"}
    assert g.successors("b") == ["c"]


def test_predecessors_include_start_and_end() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["b", "c"]},
               {"from": "b", "to": "d"}, {"from": "c", "to": "d"}, {"from": "d", "to": END}], ids="abcd")
    assert g.predecessors["a"] == [START]
    assert sorted(g.predecessors["d"]) == ["b", "c"]
    assert g.predecessors[END] == ["d"]


def test_first_edge_of_a_node_wins_in_build_graph() -> None:
    """Validation reports a second outgoing edge; the graph keeps the first."""
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": "b"}, {"from": "a", "to": END},
               {"from": "b", "to": END}], ids="ab")
    assert g.successors("a") == ["b"]


# ---- reachability ----------------------------------------------------------------------------


def test_reachable_from_and_stop() -> None:
    g = graph(linear("a", "b", "c", "d"), ids="abcd")
    assert g.reachable_from(START) == {START, "a", "b", "c", "d", END}
    assert g.reachable_from("b") == {"b", "c", "d", END}
    assert g.reachable_from("a", stop="c") == {"a", "b", "c"}
    assert g.can_reach("a", "d")
    assert not g.can_reach("d", "a")


def test_reaches_end_excludes_dead_ends_and_closed_cycles() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "routes": [
        {"when": "flag", "to": "b"}, {"when": "default", "to": "c"}]},
        {"from": "b", "to": END}, {"from": "c", "to": "d"}, {"from": "d", "to": "c"}], ids="abcde")
    assert g.reaches_end == {END, "a", "b", START}
    assert "e" not in g.reachable_from(START)


# ---- joins -----------------------------------------------------------------------------------


def test_join_of_simple_fanout() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["b", "c"]},
               {"from": "b", "to": "d"}, {"from": "c", "to": "d"}, {"from": "d", "to": END}], ids="abcd")
    assert g.join_of("a") == "d"
    assert g.branch_nodes("a") == {"b": {"b"}, "c": {"c"}}


def test_join_is_the_first_node_all_branches_reach() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["b", "c"]},
               {"from": "b", "to": "e"}, {"from": "c", "to": "d"}, {"from": "d", "to": "e"},
               {"from": "e", "to": "f"}, {"from": "f", "to": END}], ids="abcdef")
    assert g.join_of("a") == "e"
    assert g.branch_nodes("a") == {"b": {"b"}, "c": {"c", "d"}}


def test_join_of_nested_fanouts() -> None:
    g = graph([
        {"from": START, "to": "a"},
        {"from": "a", "to": ["b", "c"]},         # outer fan-out
        {"from": "b", "to": ["d", "e"]},         # inner fan-out on the first branch
        {"from": "d", "to": "f"}, {"from": "e", "to": "f"},  # inner join f
        {"from": "f", "to": "g"}, {"from": "c", "to": "g"},  # outer join g
        {"from": "g", "to": END},
    ], ids="abcdefg")
    assert g.join_of("b") == "f"
    assert g.join_of("a") == "g"
    assert g.branch_nodes("a") == {"b": {"b", "d", "e", "f"}, "c": {"c"}}
    assert g.branch_nodes("b") == {"d": {"d"}, "e": {"e"}}


def test_three_way_fanout_with_inner_join_shared_by_two_branches() -> None:
    g = graph([
        {"from": START, "to": "a"},
        {"from": "a", "to": ["b", "c", "d"]},
        {"from": "b", "to": "e"}, {"from": "c", "to": "e"},
        {"from": "e", "to": "f"}, {"from": "d", "to": "f"},
        {"from": "f", "to": END},
    ], ids="abcdef")
    assert g.join_of("a") == "f"


def test_branches_that_only_meet_at_end_join_at_end() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["b", "c"]},
               {"from": "b", "to": END}, {"from": "c", "to": "d"}, {"from": "d", "to": END}], ids="abcd")
    assert g.join_of("a") == END
    assert g.branch_nodes("a") == {"b": {"b"}, "c": {"c", "d"}}


def test_a_branch_that_may_skip_the_meeting_node_joins_later() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": ["b", "c"]},
               {"from": "b", "routes": [{"when": "flag", "to": "d"}, {"when": "default", "to": "e"}]},
               {"from": "c", "to": "d"}, {"from": "d", "to": "e"}, {"from": "e", "to": END}], ids="abcde")
    assert g.join_of("a") == "e"


def test_post_dominators_of_a_chain() -> None:
    g = graph(linear("a", "b", "c"), ids="abc")
    assert g.post_dominators == {"a": "b", "b": "c", "c": END}


# ---- cycles ----------------------------------------------------------------------------------


def test_acyclic_graph_has_no_unbounded_cycle() -> None:
    assert graph(linear("a", "b", "c"), ids="abc").unbounded_cycle() is None


def test_route_cycle_is_unbounded_and_reported_as_a_path() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": "b"},
               {"from": "b", "routes": [{"when": "flag", "to": END}, {"when": "default", "to": "a"}]}], ids="ab")
    assert g.unbounded_cycle() == ["a", "b", "a"]


def test_self_cycle_through_routes() -> None:
    g = graph([{"from": START, "to": "a"},
               {"from": "a", "routes": [{"when": "flag", "to": END}, {"when": "default", "to": "a"}]}], ids="a")
    assert g.unbounded_cycle() == ["a", "a"]


def test_loop_edges_bound_their_cycle() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": "b"},
               {"from": "b", "loop": {"condition_field": "flag", "max_iterations": 2, "back_to": "a",
                                      "exit_to": "c"}},
               {"from": "c", "to": END}], ids="abc")
    assert g.unbounded_cycle() is None


def test_a_loop_whose_exit_leads_back_is_still_a_cycle() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": "b"},
               {"from": "b", "loop": {"condition_field": "flag", "max_iterations": 2, "exit_to": "c"}},
               {"from": "c", "routes": [{"when": "flag", "to": END}, {"when": "default", "to": "a"}]}], ids="abc")
    assert g.unbounded_cycle() == ["a", "b", "c", "a"]


def test_cycle_found_in_a_part_not_reached_first() -> None:
    g = graph([{"from": START, "to": "a"}, {"from": "a", "to": END},
               {"from": "b", "to": "c"}, {"from": "c", "to": "b"}], ids="abc")
    assert g.unbounded_cycle() == ["b", "c", "b"]


# ---- through the loader ----------------------------------------------------------------------


def test_unbounded_cycle_is_accepted_with_max_steps() -> None:
    text = """\
schema_version: "1.0"
flow: {name: retry}
state:
  fields:
    topic: {type: str}
    ok: {type: bool, default: false}
nodes:
  - {id: try_it, prompt: "Try {topic}", outputs: [ok]}
edges:
  - {from: START, to: try_it}
  - from: try_it
    routes:
      - {when: ok, to: END}
      - {when: default, to: try_it}
config:
  execution: {max_steps: 10}
"""
    spec = load_config(text)
    assert spec.graph.unbounded_cycle() == ["try_it", "try_it"]
    with pytest.raises(ConfigError) as caught:
        load_config(text.replace("config:\n  execution: {max_steps: 10}\n", ""))
    assert [i.message for i in caught.value.issues] == ["cycle try_it -> try_it has no bound"]


def test_graph_of_a_loaded_spec_matches_build_graph() -> None:
    text = """\
schema_version: "1.0"
flow: {name: same}
state:
  fields:
    topic: {type: str}
    x: {type: str}
    y: {type: str}
nodes:
  - {id: a, prompt: "{topic}", outputs: [x]}
  - {id: b, prompt: "{topic}", outputs: [y]}
edges:
  - {from: START, to: a}
  - {from: a, to: b}
  - {from: b, to: END}
"""
    spec = load_config(text)
    rebuilt = build_graph(spec.config)
    assert rebuilt.out == spec.graph.out
    assert rebuilt.node_ids == spec.graph.node_ids


FANOUT_DEAD_END = """\
schema_version: "1.0"
flow: {name: stuck}
state:
  fields:
    topic: {type: str}
    x: {type: str}
    y: {type: str}
    z: {type: str}
nodes:
  - {id: a, prompt: "{topic}", outputs: [x]}
  - {id: b, prompt: "{topic}", outputs: [y]}
  - {id: c, prompt: "{topic}", outputs: [z]}
edges:
  - {from: START, to: a}
  - {from: a, to: [b, c]}
  - {from: b, to: c}
"""


def test_fanout_whose_branches_never_reach_end_is_reported_not_crashed() -> None:
    """A fan-out node that cannot reach END has no join: validation must say so, not raise KeyError."""
    with pytest.raises(ConfigError) as caught:
        load_config(FANOUT_DEAD_END, filename="stuck.yaml")
    found = {(i.key, i.message) for i in caught.value.issues}
    assert ("nodes[0].id", "node `a` can never reach END") in found
    assert ("nodes[2].id", "node `c` can never reach END") in found
