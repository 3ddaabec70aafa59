"""Diagrams: every edge kind drawn in Mermaid and DOT, SVG from real Graphviz, hostile text inert."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cagents.config import WorkflowSpec, load_config
from cagents.config.diagram import dot_available, to_dot, to_mermaid, to_svg
from cagents.errors import CagentsError

SVG = "{http://www.w3.org/2000/svg}"

LINEAR = """
schema_version: "1.0"
flow: {name: linear}
state:
  fields:
    topic: {type: str, required: true}
    out: {type: str}
nodes:
  - {id: write, name: Write it, prompt: "About {topic}", outputs: [out]}
edges:
  - {from: START, to: write}
  - {from: write, to: END}
"""

KINDS = """
schema_version: "1.0"
flow: {name: kinds}
state:
  fields:
    topic: {type: str, required: true}
    a: {type: str}
    b: {type: int}
    c: {type: float}
nodes:
  - {id: think, prompt: "About {topic}", outputs: [a]}
  - {id: count, code: "result = len(a)", inputs: {a: "{a}"}, outputs: [b]}
  - {id: calc, kind: tool, tool: calculator, args: {expression: "1 + 1"}, outputs: [c]}
  - {id: ask, kind: human, prompt: "Is {a} fine?"}
edges:
  - {from: START, to: think}
  - {from: think, to: count}
  - {from: count, to: calc}
  - {from: calc, to: ask}
  - {from: ask, to: END}
"""

CONDITIONAL = """
schema_version: "1.0"
flow: {name: triage}
state:
  fields:
    ticket: {type: str, required: true}
    score: {type: int}
    reply: {type: str}
nodes:
  - {id: classify, prompt: "Classify {ticket}", outputs: [score]}
  - {id: answer, prompt: "Answer {ticket}", outputs: [reply]}
edges:
  - {from: START, to: classify}
  - from: classify
    routes:
      - {condition: {logic: "state.score >= 8"}, to: answer}
      - {when: "state.score < 2", to: END}
      - {condition: {logic: default}, to: END}
  - {from: answer, to: END}
"""

LOOP = """
schema_version: "1.0"
flow: {name: refine}
state:
  fields:
    draft: {type: str}
    done: {type: bool}
nodes:
  - {id: draft_it, prompt: "Draft", outputs: [draft]}
  - {id: review, prompt: "Review {draft}", outputs: [done]}
edges:
  - {from: START, to: draft_it}
  - {from: draft_it, to: review}
  - {from: review, loop: {condition_field: state.done, max_iterations: 3, exit_to: END, back_to: draft_it}}
"""

SELF_LOOP = LOOP.replace(", back_to: draft_it", "")

FANOUT = """
schema_version: "1.0"
flow: {name: fan}
state:
  fields:
    topic: {type: str, required: true}
    pros: {type: str}
    cons: {type: str}
    verdict: {type: str}
nodes:
  - {id: plan, prompt: "Plan {topic}", outputs: [topic]}
  - {id: pro, prompt: "Pros of {topic}", outputs: [pros]}
  - {id: con, prompt: "Cons of {topic}", outputs: [cons]}
  - {id: decide, prompt: "Decide {pros} {cons}", outputs: [verdict]}
edges:
  - {from: START, to: plan}
  - {from: plan, to: [pro, con]}
  - {from: pro, to: decide}
  - {from: con, to: decide}
  - {from: decide, to: END}
"""

MAP = """
schema_version: "1.0"
flow: {name: mapper}
state:
  fields:
    items: {type: "list[str]", required: true}
    results: {type: "list[str]"}
    one: {type: str}
    summary: {type: str}
nodes:
  - {id: start_here, prompt: "Split {items}", outputs: [items]}
  - {id: each, prompt: "Handle {item}", outputs: [one]}
  - {id: sum_up, prompt: "Sum {results}", outputs: [summary]}
edges:
  - {from: START, to: start_here}
  - {from: start_here, parallel: {items_field: state.items, target_node: each, collect_field: results}}
  - {from: each, to: sum_up}
  - {from: sum_up, to: END}
"""

HOSTILE_NAME = (
    '<script>alert(1)</script> "q" | # ; {} [] () `t` $$m$$ %%{init: {}}%% & &amp; \\N \\G end'
)
HOSTILE = """
schema_version: "1.0"
flow: {name: "<b>flow</b> & \\"name\\""}
state:
  fields:
    label: {type: str, required: true}
    out: {type: str}
nodes:
  - id: end
    name: NAME
    prompt: "{label}"
    outputs: [out]
  - {id: graph, name: "two\\nlines", prompt: "{label}", outputs: [out]}
  - {id: style, prompt: "{label}", outputs: [out]}
  - {id: naïve, prompt: "{label}", outputs: [out]}
edges:
  - {from: START, to: end}
  - from: end
    routes:
      - {when: "state.label == '<script>|#;{}\\"'", to: graph}
      - {condition: {logic: default}, to: style}
  - {from: graph, to: naïve}
  - {from: style, to: naïve}
  - {from: naïve, to: END}
"""


def spec_of(text: str) -> WorkflowSpec:
    return load_config(text, filename="test.yaml")


def hostile_spec() -> WorkflowSpec:
    import json

    return spec_of(HOSTILE.replace("NAME", json.dumps(HOSTILE_NAME)))


def mermaid_lines(spec: WorkflowSpec, **kwargs: str) -> list[str]:
    return [line.strip() for line in to_mermaid(spec, **kwargs).splitlines()]


def dot_lines(spec: WorkflowSpec) -> list[str]:
    return [line.strip() for line in to_dot(spec).splitlines()]


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


# ---- linear, START and END -------------------------------------------------------------


def test_linear_mermaid_has_distinct_start_end_and_label() -> None:
    lines = mermaid_lines(spec_of(LINEAR))
    assert lines[0] == "flowchart TD"
    assert 't_start(("START"))' in lines
    assert 't_end((("END")))' in lines
    assert 'n_write("Write it<br>llm")' in lines
    assert "t_start --> n_write" in lines
    assert "n_write --> t_end" in lines
    assert "class t_start,t_end terminal" in lines
    assert "class n_write llm" in lines


def test_linear_dot_has_distinct_start_end_and_edges() -> None:
    lines = dot_lines(spec_of(LINEAR))
    assert lines[0] == "digraph workflow {"
    assert lines[-1] == "}"
    start = next(line for line in lines if line.startswith('"START" ['))
    end = next(line for line in lines if line.startswith('"END" ['))
    assert "shape=circle" in start and "label=<START>" in start
    assert "shape=doublecircle" in end and "label=<END>" in end
    assert (
        '"write" [label=<Write it<BR/><FONT POINT-SIZE="8">llm</FONT>>, shape=box, '
        'style="rounded,filled", fillcolor="#e7f0ff", color="#3b6fd8"];'
    ) in lines
    assert '"START" -> "write";' in lines
    assert '"write" -> "END";' in lines


def test_direction() -> None:
    spec = spec_of(LINEAR)
    assert to_mermaid(spec, direction="LR").startswith("flowchart LR\n")
    assert "rankdir=LR" in to_dot(spec, direction="LR")
    assert "rankdir=TB" in to_dot(spec)
    with pytest.raises(ValueError, match="direction must be one of"):
        to_mermaid(spec, direction="sideways")


# ---- node kinds ------------------------------------------------------------------------


def test_node_kinds_have_distinct_shapes_and_tags() -> None:
    spec = spec_of(KINDS)
    lines = mermaid_lines(spec)
    assert 'n_think("think<br>llm")' in lines
    assert 'n_count[["count<br>code"]]' in lines
    assert 'n_calc{{"calc<br>tool#58; calculator"}}' in lines
    assert 'n_ask[/"ask<br>human"/]' in lines
    for name in ("llm", "code", "tool", "human"):
        assert any(line.startswith(f"classDef {name} ") for line in lines)
    assert "class n_count code" in lines and "class n_calc tool" in lines

    dot = to_dot(spec)
    assert re.search(r'"think" \[label=<think<BR/><FONT POINT-SIZE="8">llm</FONT>>, shape=box,', dot)
    assert re.search(r'"count" \[label=<[^\n]*code</FONT>>, shape=component,', dot)
    assert re.search(r'"calc" \[label=<[^\n]*tool: calculator</FONT>>, shape=hexagon,', dot)
    assert re.search(r'"ask" \[label=<[^\n]*human</FONT>>, shape=parallelogram,', dot)


# ---- conditional -----------------------------------------------------------------------


def test_conditional_edges_carry_their_condition_and_default() -> None:
    spec = spec_of(CONDITIONAL)
    lines = mermaid_lines(spec)
    assert 'n_classify -->|"state.score #62;= 8"| n_answer' in lines
    assert 'n_classify -->|"state.score #60; 2"| t_end' in lines
    assert 'n_classify -->|"default"| t_end' in lines

    dots = dot_lines(spec)
    assert '"classify" -> "answer" [label=<state.score &gt;= 8>];' in dots
    assert '"classify" -> "END" [label=<state.score &lt; 2>];' in dots
    assert '"classify" -> "END" [label=<default>];' in dots


# ---- loop ------------------------------------------------------------------------------


def test_loop_back_edge_and_exit_edge() -> None:
    spec = spec_of(LOOP)
    lines = mermaid_lines(spec)
    assert 'n_review -.->|"until done #40;max 3#41;"| n_draft_it' in lines
    assert 'n_review -->|"done / max reached"| t_end' in lines

    dots = dot_lines(spec)
    assert (
        '"review" -> "draft_it" [label=<until done (max 3)>, style=dashed, color="#555555", '
        "constraint=false];"
    ) in dots
    assert '"review" -> "END" [label=<done / max reached>];' in dots


def test_loop_without_back_to_loops_on_itself() -> None:
    spec = spec_of(SELF_LOOP)
    assert 'n_review -.->|"until done #40;max 3#41;"| n_review' in mermaid_lines(spec)
    assert any(line.startswith('"review" -> "review" [label=<until done (max 3)>') for line in dot_lines(spec))


# ---- fan-out and join ------------------------------------------------------------------


def test_fanout_edges_and_join_marked() -> None:
    spec = spec_of(FANOUT)
    lines = mermaid_lines(spec)
    assert "n_plan --> n_pro" in lines
    assert "n_plan --> n_con" in lines
    assert 'n_decide("decide<br>llm · join")' in lines
    assert "class n_decide join" in lines
    assert "classDef join stroke-width:3px" in lines
    assert not any(line.startswith("class ") and line.endswith(" join") and "n_pro" in line for line in lines)

    dots = dot_lines(spec)
    assert '"plan" -> "pro";' in dots
    assert '"plan" -> "con";' in dots
    decide = next(line for line in dots if line.startswith('"decide" ['))
    assert "llm · join</FONT>" in decide and "peripheries=2" in decide
    pro = next(line for line in dots if line.startswith('"pro" ['))
    assert "peripheries" not in pro and "join" not in pro


# ---- parallel map ----------------------------------------------------------------------


def test_parallel_map_edge_labelled_and_marked() -> None:
    spec = spec_of(MAP)
    lines = mermaid_lines(spec)
    assert 'n_start_here ==>|"map#58; for each item in items → results"| n_each' in lines
    assert 'n_each("each<br>llm · per item")' in lines
    assert "class n_each map" in lines
    assert "n_each --> n_sum_up" in lines

    dots = dot_lines(spec)
    assert (
        '"start_here" -> "each" [label=<map: for each item in items → results>, style=bold, '
        "penwidth=2];"
    ) in dots
    each = next(line for line in dots if line.startswith('"each" ['))
    assert "per item" in each and 'style="rounded,filled,dashed"' in each


# ---- ids and escaping ------------------------------------------------------------------


def test_mermaid_ids_never_clash_with_keywords() -> None:
    lines = mermaid_lines(hostile_spec())
    ids = {line.split("(", 1)[0] for line in lines[1:] if re.match(r"^\w+\(", line)}
    assert {"t_start", "t_end", "n_end", "n_graph", "n_style"} <= ids
    assert "n4_na_ve" in ids  # non-ASCII id made ASCII and unique by position
    for line in lines[1:]:
        first = line.split()[0]
        assert first not in ("end", "graph", "style", "subgraph", "click", "flowchart")
    assert "n_end -->|\"default\"| n_style" in lines


def test_mermaid_escapes_hostile_labels() -> None:
    text = to_mermaid(hostile_spec())
    node = next(line.strip() for line in text.splitlines() if line.strip().startswith("n_end("))
    body = node[len('n_end("'):-len('")')]
    assert body == (
        "#60;script#62;alert#40;1#41;#60;/script#62; #34;q#34; #124; #35; #59; #123;#125; "
        "#91;#93; #40;#41; #96;t#96; #36;\u200b#36;m#36;\u200b#36; #37;#37;#123;init#58; "
        "#123;#125;#125;#37;#37; #38; #38;amp#59; #92;N #92;G end<br>llm"
    )
    # Once entities and line breaks are taken out, no character Mermaid reacts to is left.
    for label in re.findall(r'"(.*?)"', text):
        rest = re.sub(r"#\d+;|<br>", "", label)
        assert not set(rest) & set('"<>|#;{}[]()`%$:&\\'), label
    assert "<script" not in text and "%%" not in text and "$$" not in text
    assert 'n_graph("two<br>lines<br>llm")' in text
    assert "n_end -->|\"state.label == '#60;script#62;#124;#35;#59;#123;#125;#34;'\"| n_graph" in text


def test_dot_escapes_hostile_labels() -> None:
    dots = dot_lines(hostile_spec())
    assert dots[1].startswith("graph [label=<<B>&lt;b&gt;flow&lt;/b&gt; &amp; &quot;name&quot;</B>>")
    node = next(line for line in dots if line.startswith('"end" ['))
    assert node.startswith(
        '"end" [label=<&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; | # ; {} [] () `t` '
        "$$m$$ %%{init: {}}%% &amp; &amp;amp; \\\\N \\\\G end<BR/>"
    )
    assert '"graph" [label=<two<BR/>lines<BR/>' in "\n".join(dots)
    assert '"end" -> "graph" [label=<state.label == &#39;&lt;script&gt;|#;{}&quot;&#39;>];' in dots


def test_svg_keeps_hostile_text_as_text() -> None:
    svg = to_svg(hostile_spec())
    root = ET.fromstring(svg)
    assert not [el for el in root.iter() if el.tag.lower().endswith("script")]
    texts = svg_texts(svg)
    assert HOSTILE_NAME in texts  # \N and \G stay literal, entities stay text
    assert "<b>flow</b> & \"name\"" in texts
    assert "state.label == '<script>|#;{}\"'" in texts
    assert "two" in texts and "lines" in texts


def test_control_characters_do_not_break_outputs() -> None:
    spec = spec_of(LINEAR.replace("name: Write it", 'name: "a\\tb\\x07c\\u2028d\\r\\ne"'))
    assert 'n_write("a b c<br>d<br>e<br>llm")' in mermaid_lines(spec)
    texts = svg_texts(to_svg(spec))
    assert ["a b c", "d", "e"] == texts[texts.index("a b c"):texts.index("a b c") + 3]


# ---- SVG and Graphviz ------------------------------------------------------------------


@pytest.mark.parametrize("text", [LINEAR, KINDS, CONDITIONAL, LOOP, FANOUT, MAP])
def test_svg_is_well_formed_and_names_every_node(text: str) -> None:
    spec = spec_of(text)
    svg = to_svg(spec)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = svg_texts(svg)
    for node in spec.config.nodes:
        assert node.label in texts
    assert "START" in texts and "END" in texts


def test_dot_available_follows_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert dot_available()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not dot_available()


def test_missing_dot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = spec_of(LINEAR)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CagentsError) as caught:
        to_svg(spec)
    assert str(caught.value) == (
        "Graphviz `dot` is not installed: apt-get install graphviz, or use --format mermaid"
    )
    assert to_mermaid(spec) and to_dot(spec)  # text formats need no Graphviz


def test_failing_dot_reports_its_stderr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 3' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CagentsError, match=r"^Graphviz `dot` failed: Error: syntax error in line 3$"):
        to_svg(spec_of(LINEAR))
