"""The bundled example workflows validate and show what their leading comment promises."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cagents.config import WorkflowSpec, load_config
from cagents.config.types import TypeSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted(EXAMPLES.glob("*.yaml"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _edge_kinds(spec: WorkflowSpec) -> set[str]:
    return {edge.kind for edge in spec.config.edges}


def _node_kinds(spec: WorkflowSpec) -> dict[str, str]:
    return {node.id: node.effective_kind for node in spec.config.nodes}


def test_there_are_at_least_ten_examples() -> None:
    assert len(FILES) >= 10, [p.name for p in FILES]


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_example_validates(path: Path) -> None:
    spec = load_config(path)
    assert spec.config.flow.name
    assert spec.source.filename == str(path)


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_example_starts_with_a_comment_saying_how_to_run_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 3, f"{path.name} needs a leading comment saying what it shows"
    comment = "\n".join(header)
    assert f"cagents validate examples/{path.name}" in comment
    assert f"cagents run examples/{path.name}" in comment


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_example_run_line_names_declared_required_inputs(path: Path) -> None:
    """The `--input` flags of the run line cover every required state field."""
    spec = load_config(path)
    run_line = next(line for line in path.read_text().splitlines() if "cagents run" in line)
    given = set(re.findall(r"--input '?([A-Za-z_]\w*)=", run_line))
    required = {name for name, field in spec.config.state.fields.items() if field.required}
    assert required <= given, f"{path.name}: run line misses {sorted(required - given)}"
    assert given <= set(spec.config.state.fields), f"{path.name}: run line names unknown fields"


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([\w-]+\.yaml)`", readme))
    assert listed == {p.name for p in FILES}


# ---- per-example facts ---------------------------------------------------------------------


def _article_writer(spec: WorkflowSpec) -> None:
    assert _edge_kinds(spec) == {"linear"}
    assert [n.id for n in spec.config.nodes] == ["research", "outline", "draft"]
    graph = spec.graph
    assert graph.entry == "research"
    assert graph.successors("research") == ["outline"]
    assert graph.successors("outline") == ["draft"]
    assert graph.successors("draft") == ["END"]
    assert spec.output_types["research"]["research_notes"] == TypeSpec("list", item=TypeSpec("str"))
    assert spec.config.node("draft").llm is not None
    assert spec.config.node("draft").llm.temperature == 0.7


def _support_triage(spec: WorkflowSpec) -> None:
    assert "conditional" in _edge_kinds(spec)
    routes = spec.graph.out["classify"].routes
    assert routes is not None
    assert routes[0].condition is not None and routes[0].when is None
    assert routes[1].when is not None and routes[1].condition is None
    assert routes[-1].is_default and not any(r.is_default for r in routes[:-1])
    assert spec.graph.successors("classify") == ["escalate", "billing_reply", "general_reply"]
    assert spec.output_types["classify"] == {"category": TypeSpec("str"), "urgency": TypeSpec("int")}


def _refine_loop(spec: WorkflowSpec) -> None:
    assert "loop" in _edge_kinds(spec)
    loop = spec.graph.out["critique"].loop
    assert loop is not None
    assert (loop.condition_field, loop.max_iterations, loop.back_to, loop.exit_to) == (
        "approved", 3, "write", "polish",
    )
    assert spec.state_types["approved"].kind == "bool"
    assert spec.graph.successors("critique") == ["write", "polish"]
    assert spec.graph.unbounded_cycle() is None
    assert spec.config.execution.max_steps is None  # bounded by the loop alone


def _summarize_documents(spec: WorkflowSpec) -> None:
    assert "parallel" in _edge_kinds(spec)
    par = spec.graph.out["plan"].parallel
    assert par is not None
    assert (par.items_field, par.target_node, par.collect_field) == (
        "documents", "summarize_one", "summaries",
    )
    assert spec.graph.map_targets == {"summarize_one": "plan"}
    assert spec.graph.out["summarize_one"].kind == "linear"
    assert spec.graph.successors("summarize_one") == ["digest"]
    prompt = spec.config.node("summarize_one").prompt or ""
    assert "{item}" in prompt and "{item_index}" in prompt
    assert spec.state_types["summaries"] == TypeSpec("list", item=TypeSpec("str"))


def _fanout_join(spec: WorkflowSpec) -> None:
    assert "fanout" in _edge_kinds(spec)
    assert spec.graph.out["frame"].to == ["pros", "cons"]
    assert spec.graph.join_of("frame") == "decide"
    assert spec.graph.branch_nodes("frame") == {"pros": {"pros"}, "cons": {"cons"}}
    assert set(spec.output_types["pros"]) == {"pros"}
    assert set(spec.output_types["cons"]) == {"cons"}


def _research_with_tools(spec: WorkflowSpec) -> None:
    kinds = _node_kinds(spec)
    assert kinds == {"fetch_source": "tool", "analyze": "llm"}
    fetch = spec.config.node("fetch_source")
    assert fetch.tool_ref is not None and fetch.tool_ref.name == "fetch_url"
    assert fetch.args == {"url": "{source_url}"}
    analyze = spec.config.node("analyze")
    assert [t.name for t in analyze.tool_refs] == ["calculator", "web_search"]
    assert analyze.tool_refs[1].on_error == "continue"
    names = {n for req in spec.env for n in req.names}
    assert {"TAVILY_API_KEY", "SERPER_API_KEY", "OPENAI_API_KEY"} <= names


def _dataset_stats(spec: WorkflowSpec) -> None:
    node = spec.config.node("compute_stats")
    assert node.effective_kind == "code"
    assert node.sandbox is not None and node.sandbox.network is False
    assert node.sandbox.timeout == 10
    assert "result" in (node.code or "")
    stats = spec.state_types["stats"]
    assert stats.kind == "object"
    assert stats.resolve(("outliers",)) == TypeSpec("list", item=TypeSpec("float"))
    # only the explaining node needs a model key
    assert [req.names for req in spec.env] == [("OPENAI_API_KEY",)]


def _publish_approval(spec: WorkflowSpec) -> None:
    kinds = _node_kinds(spec)
    assert kinds["review"] == "human"
    assert kinds["publish"] == "tool"
    review = spec.config.node("review")
    assert review.outputs == ["approved", "review_notes"]
    assert spec.graph.successors("draft_post") == ["review"]
    assert spec.graph.successors("review") == ["publish", "file_rejection"]
    assert "conditional" in _edge_kinds(spec)


def _user_profile(spec: WorkflowSpec) -> None:
    profile = spec.state_types["profile"]
    assert profile.kind == "object"
    assert profile.resolve(("location", "city")) == TypeSpec("str")
    assert profile.resolve(("links", 0, "url")) == TypeSpec("str")
    assert profile.resolve(("location", "zip")) is None
    out = spec.output_types["extract_profile"]["profile"]
    assert profile.accepts(out) and out.accepts(profile)


def _configurable_agents_compat(spec: WorkflowSpec) -> None:
    config = spec.config
    assert config.flow.tags == ["research", "sales", "brief"]
    assert config.flow.author == "Sales Engineering"
    assert config.flow.version == "1.0"
    assert config.schema_version == "1.0"
    assert [n.name for n in config.nodes] == ["Company research", "Fit score", "Sales brief"]
    assert config.settings.memory is not None and config.settings.memory.enabled
    obs = config.settings.observability
    assert obs is not None and obs.mlflow is not None and obs.logging is not None
    assert obs.mlflow.experiment_name == "company_brief"
    assert obs.logging.level == "INFO"
    assert config.webhook is not None and config.webhook.enabled
    assert config.webhook.default_inputs == {"company": "Acme Robotics"}
    assert [t.name for t in config.node("research").tool_refs] == ["serper_search"]
    assert spec.graph.successors("qualify") == ["write_brief", "END"]


def _expense_check(spec: WorkflowSpec) -> None:
    assert _node_kinds(spec) == {"total_items": "code", "auto_approve": "code", "review": "llm"}
    assert len(spec.config.triggers) == 1
    assert spec.config.triggers[0].secret_env == "EXPENSE_WEBHOOK_SECRET"
    secret = [req for req in spec.env if req.names == ("EXPENSE_WEBHOOK_SECRET",)]
    assert len(secret) == 1 and secret[0].required is False
    assert spec.config.node("review").llm is not None
    assert spec.state_types["items"].resolve((0, "amount")) == TypeSpec("float")


FACTS: dict[str, Callable[[WorkflowSpec], None]] = {
    "article_writer.yaml": _article_writer,
    "support_triage.yaml": _support_triage,
    "refine_loop.yaml": _refine_loop,
    "summarize_documents.yaml": _summarize_documents,
    "fanout_join.yaml": _fanout_join,
    "research_with_tools.yaml": _research_with_tools,
    "dataset_stats.yaml": _dataset_stats,
    "publish_approval.yaml": _publish_approval,
    "user_profile.yaml": _user_profile,
    "configurable_agents_compat.yaml": _configurable_agents_compat,
    "expense_check.yaml": _expense_check,
}


def test_every_example_has_its_facts_checked() -> None:
    assert set(FACTS) == {p.name for p in FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_example_facts(name: str) -> None:
    FACTS[name](load_config(EXAMPLES / name))


def test_examples_cover_every_edge_and_node_kind() -> None:
    edge_kinds: set[str] = set()
    node_kinds: set[str] = set()
    for path in FILES:
        spec = load_config(path)
        edge_kinds |= _edge_kinds(spec)
        node_kinds |= set(_node_kinds(spec).values())
    assert edge_kinds == {"linear", "conditional", "loop", "parallel", "fanout"}
    assert node_kinds == {"llm", "code", "tool", "human"}


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_example_uses_openai_mini_or_no_llm_block(path: Path) -> None:
    """Examples run offline with the simulator, or cheaply with one key."""
    llm = load_config(path).config.settings.llm
    if llm is not None:
        assert llm.provider in (None, "openai")
        assert llm.model in (None, "gpt-4o-mini")
