"""Configs in the configurable-agents 1.0 format load unchanged, and mean what they meant there.

Each config below is written the way that project's users write them (DESIGN.md section 3):
unquoted `schema_version: 1.0`, `condition: {logic: ...}` routes, loop and parallel edges,
sandboxed code nodes, webhook and optimization blocks, MLflow settings, its tool names.
"""

from __future__ import annotations

import pytest

from cagents.config import WorkflowSpec, load_config
from cagents.config.tool_names import BUILTIN_TOOLS, canonical_tool_name
from cagents.config.types import TypeSpec

ROUTES = """\
schema_version: 1.0
flow:
  name: review_router
  description: Score an essay and route it by score
  version: 1.0
state:
  fields:
    essay: {type: str, required: true, description: The essay text}
    score: {type: int, default: 0}
    praise: {type: str}
    advice: {type: str}
nodes:
  - id: grade
    description: Give the essay a score from 1 to 10
    prompt: "Grade this essay from 1 to 10: {state.essay}"
    outputs: [score]
    output_schema:
      type: object
      fields:
        - name: score
          type: int
          description: Score from 1 to 10
  - id: celebrate
    prompt: "Write two lines of praise for an essay that scored {state.score}: {state.essay}"
    outputs: [praise]
  - id: coach
    prompt: "Give three concrete tips to improve this essay: {essay}"
    outputs: [advice]
edges:
  - from: START
    to: grade
  - from: grade
    routes:
      - condition:
          logic: "state.score >= 8"
        to: celebrate
      - condition:
          logic: default
        to: coach
  - from: celebrate
    to: END
  - from: coach
    to: END
config:
  llm:
    provider: openai
    model: gpt-4o-mini
    temperature: 0.2
    max_tokens: 800
  execution:
    timeout: 120
    max_retries: 2
"""

LOOP = """\
schema_version: 1.0
flow:
  name: improve_until_good
  version: 1.0
state:
  fields:
    topic: {type: str, required: true}
    draft: {type: str, default: ""}
    is_good: {type: bool, default: false}
    final: {type: str}
nodes:
  - id: improve
    prompt: |
      Improve this draft about {state.topic}. Draft so far: {state.draft}
      Set is_good to true when nothing important is left to improve.
    outputs: [draft, is_good]
    output_schema:
      type: object
      fields:
        - {name: draft, type: str}
        - {name: is_good, type: bool}
  - id: finish
    prompt: "Give this text a title and return it: {state.draft}"
    outputs: [final]
edges:
  - {from: START, to: improve}
  - from: improve
    loop:
      condition_field: is_good
      max_iterations: 4
      exit_to: finish
  - {from: finish, to: END}
"""

PARALLEL = """\
schema_version: 1.0
flow:
  name: translate_all
  version: 1.0
state:
  fields:
    sentences: {type: "list[str]", required: true}
    language: {type: str, default: French}
    note: {type: str}
    translation: {type: str}
    translations: {type: "list[str]", default: []}
nodes:
  - id: prepare
    prompt: "Say in one line how to translate into {state.language} for a general audience."
    outputs: [note]
  - id: translate_one
    prompt: "Translate sentence {item_index} into {state.language} ({state.note}): {item}"
    outputs: [translation]
  - id: join
    prompt: "Join these translations into one paragraph: {state.translations}"
    outputs: [note]
edges:
  - {from: START, to: prepare}
  - from: prepare
    parallel:
      items_field: sentences
      target_node: translate_one
      collect_field: translations
  - {from: translate_one, to: join}
  - {from: join, to: END}
"""

CODE_SANDBOX = """\
schema_version: 1.0
flow:
  name: sum_numbers
  version: 1.0
state:
  fields:
    input_numbers: {type: "list[int]", required: true}
    total: {type: int}
nodes:
  - id: add_up
    description: Add the numbers in a sandbox
    prompt: "Add up the numbers {input_numbers}"
    code: |
      numbers = inputs["numbers"]
      result = sum(numbers)
    inputs:
      numbers: "{input_numbers}"
    sandbox:
      mode: python
      enabled: true
      network: false
      preset: low
      timeout: 10
    outputs: [total]
    output_schema:
      type: int
edges:
  - {from: START, to: add_up}
  - {from: add_up, to: END}
"""

SETTINGS = """\
schema_version: 1.0
flow:
  name: newsletter
  description: Weekly newsletter from links
  version: 1.0
  author: Growth team
  tags: [newsletter, weekly]
state:
  fields:
    links: {type: "list[str]", required: true}
    issue: {type: str}
nodes:
  - id: write_issue
    name: Write the issue
    prompt: "Write a newsletter issue from these links: {state.links}"
    outputs: [issue]
    optimize:
      enabled: true
      metric: semantic_match
      strategy: BootstrapFewShot
      max_demos: 2
    log_prompts: true
    log_artifacts: false
edges:
  - {from: START, to: write_issue}
  - {from: write_issue, to: END}
config:
  llm:
    provider: openai
    model: gpt-4o-mini
    api_base: https://api.openai.com/v1
  execution:
    timeout: 300
    max_retries: 3
  memory:
    enabled: true
    default_scope: agent
  storage:
    backend: sqlite
    path: ./workflows.db
  observability:
    mlflow:
      enabled: true
      tracking_uri: file://./mlruns
      experiment_name: newsletter
      run_name: weekly
      log_prompts: true
      log_artifacts: true
      artifact_level: standard
      async_logging: true
      retention_days: 30
      redact_pii: true
    logging:
      level: INFO
webhook:
  enabled: true
  allowed_methods: [generic]
  default_inputs:
    links: ["https://example.com/a", "https://example.com/b"]
optimization:
  enabled: false
  strategy: BootstrapFewShot
  metric: semantic_match
  max_demos: 4
"""

OLD_TOOL_NAMES = (
    "serper_search", "web_search", "web_scrape", "http_client", "file_read", "file_write",
    "file_glob", "file_move", "sql_query", "json_parse", "yaml_parse",
)

TOOLS = """\
schema_version: 1.0
flow:
  name: toolbox
  version: 1.0
state:
  fields:
    task: {type: str, required: true}
    answer: {type: str}
nodes:
  - id: work
    prompt: "Do this task with the tools you have: {state.task}"
    tools: [%s]
    outputs: [answer]
edges:
  - {from: START, to: work}
  - {from: work, to: END}
""" % ", ".join(OLD_TOOL_NAMES)

NESTED_STATE = """\
schema_version: 1.0
flow:
  name: nested_profile
  version: 1.0
state:
  fields:
    name: {type: str, required: true}
    profile:
      type: object
      description: A structured profile
      schema:
        bio: str
        skills: list[str]
        contact:
          type: object
          schema:
            email: str
            phone: str
    scores: {type: "dict[str, int]"}
nodes:
  - id: build_profile
    prompt: "Build a profile of {state.name}."
    outputs: [profile]
    output_schema:
      type: object
      fields:
        - name: profile
          type: object
          description: The profile
          schema:
            bio: str
            skills: list[str]
            contact:
              type: object
              schema:
                email: str
                phone: str
  - id: rate_skills
    prompt: "Rate each of these skills of {profile.bio} from 1 to 5: {state.profile.skills}. Email: {profile.contact.email}"
    outputs: [scores]
edges:
  - {from: START, to: build_profile}
  - {from: build_profile, to: rate_skills}
  - {from: rate_skills, to: END}
"""

COMPAT_CONFIGS: dict[str, str] = {
    "routes": ROUTES,
    "loop": LOOP,
    "parallel": PARALLEL,
    "code_sandbox": CODE_SANDBOX,
    "settings": SETTINGS,
    "tools": TOOLS,
    "nested_state": NESTED_STATE,
}


def _load(name: str) -> WorkflowSpec:
    return load_config(COMPAT_CONFIGS[name], filename=f"{name}.yaml")


@pytest.mark.parametrize("name", sorted(COMPAT_CONFIGS))
def test_compat_config_validates_unchanged(name: str) -> None:
    spec = _load(name)
    assert spec.config.schema_version == "1.0"
    assert spec.config.flow.version == "1.0"
    assert spec.text == COMPAT_CONFIGS[name]


def test_routes_with_logic_and_default() -> None:
    spec = _load("routes")
    routes = spec.graph.out["grade"].routes
    assert routes is not None
    assert [r.logic for r in routes] == ["state.score >= 8", "default"]
    assert [r.is_default for r in routes] == [False, True]
    assert spec.graph.successors("grade") == ["celebrate", "coach"]
    assert spec.output_types["grade"] == {"score": TypeSpec("int")}
    assert spec.config.execution.timeout == 120
    assert spec.config.execution.max_retries == 2


def test_loop_edge_is_bounded_and_exits() -> None:
    spec = _load("loop")
    loop = spec.graph.out["improve"].loop
    assert loop is not None
    assert (loop.condition_field, loop.max_iterations, loop.exit_to, loop.back_to) == (
        "is_good", 4, "finish", None,
    )
    assert spec.graph.successors("improve") == ["improve", "finish"]
    assert spec.graph.unbounded_cycle() is None


def test_loop_condition_field_may_be_written_as_state_path() -> None:
    spec = load_config(LOOP.replace("condition_field: is_good", "condition_field: state.is_good"))
    loop = spec.graph.out["improve"].loop
    assert loop is not None and loop.field_name == "is_good"


def test_parallel_map_with_collection() -> None:
    spec = _load("parallel")
    par = spec.graph.out["prepare"].parallel
    assert par is not None
    assert (par.items_name, par.target_node, par.collect_name) == ("sentences", "translate_one", "translations")
    assert spec.graph.map_targets == {"translate_one": "prepare"}
    assert spec.graph.successors("translate_one") == ["join"]


def test_parallel_fields_may_be_written_as_state_paths() -> None:
    text = PARALLEL.replace("items_field: sentences", "items_field: state.sentences").replace(
        "collect_field: translations", "collect_field: state.translations"
    )
    par = load_config(text).graph.out["prepare"].parallel
    assert par is not None and (par.items_name, par.collect_name) == ("sentences", "translations")


def test_code_node_with_sandbox_prompt_and_typed_input() -> None:
    spec = _load("code_sandbox")
    node = spec.config.node("add_up")
    assert node.effective_kind == "code"
    assert node.prompt is not None
    sandbox = node.sandbox
    assert sandbox is not None
    assert (sandbox.mode, sandbox.enabled, sandbox.network, sandbox.preset, sandbox.timeout) == (
        "python", True, False, "low", 10,
    )
    assert node.inputs == {"numbers": "{input_numbers}"}
    assert spec.output_types["add_up"] == {"total": TypeSpec("int")}
    # a code node needs no model key
    assert spec.env == ()


def test_settings_blocks_are_read() -> None:
    spec = _load("settings")
    config = spec.config
    assert config.flow.author == "Growth team"
    assert config.flow.tags == ["newsletter", "weekly"]
    node = config.node("write_issue")
    assert node.name == "Write the issue" and node.label == "Write the issue"
    assert node.optimize is not None and node.optimize.enabled and node.optimize.max_demos == 2
    assert node.log_prompts is True and node.log_artifacts is False
    settings = config.settings
    assert settings.llm is not None and settings.llm.api_base == "https://api.openai.com/v1"
    assert settings.memory is not None and settings.memory.default_scope == "agent"
    assert settings.storage is not None and settings.storage.path == "./workflows.db"
    assert settings.observability is not None
    mlflow = settings.observability.mlflow
    assert mlflow is not None
    assert mlflow.model_dump() == {
        "enabled": True,
        "tracking_uri": "file://./mlruns",
        "experiment_name": "newsletter",
        "run_name": "weekly",
        "log_prompts": True,
        "log_artifacts": True,
        "artifact_level": "standard",
        "async_logging": True,
        "retention_days": 30,
        "redact_pii": True,
    }
    assert settings.observability.logging is not None
    assert settings.observability.logging.level == "INFO"
    assert config.webhook is not None
    assert config.webhook.allowed_methods == ["generic"]
    assert config.webhook.default_inputs == {"links": ["https://example.com/a", "https://example.com/b"]}
    assert config.optimization is not None and config.optimization.max_demos == 4


@pytest.mark.parametrize("level", ["debug", "info", "Warning", "ERROR", "critical"])
def test_logging_level_in_any_case(level: str) -> None:
    spec = load_config(SETTINGS.replace("level: INFO", f"level: {level}"))
    observability = spec.config.settings.observability
    assert observability is not None and observability.logging is not None
    assert observability.logging.level == level.upper()


def test_old_tool_names_are_accepted_and_map_onto_builtins() -> None:
    spec = _load("tools")
    names = [ref.name for ref in spec.config.node("work").tool_refs]
    assert names == list(OLD_TOOL_NAMES)
    for name in names:
        assert canonical_tool_name(name) in BUILTIN_TOOLS, name
    assert canonical_tool_name("serper_search") == "web_search"
    assert canonical_tool_name("web_scrape") == "fetch_url"
    assert canonical_tool_name("http_client") == "http_request"
    assert canonical_tool_name("file_read") == "read_file"


@pytest.mark.parametrize("name", ["shell", "process", "env_vars"])
def test_old_unsafe_tools_need_the_allowlist(name: str) -> None:
    from cagents.errors import ConfigError

    text = TOOLS.replace("tools: [serper_search,", f"tools: [{name}, serper_search,")
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    assert [i.key for i in caught.value.issues] == ["nodes[0].tools[0]"]
    allowed = text + f"config:\n  tools:\n    allow: [{name}]\n"
    spec = load_config(allowed)
    assert spec.config.node("work").tool_refs[0].name == name


def test_object_output_with_nested_schema() -> None:
    spec = _load("nested_state")
    profile = spec.state_types["profile"]
    assert profile.resolve(("contact", "email")) == TypeSpec("str")
    assert profile.resolve(("skills",)) == TypeSpec("list", item=TypeSpec("str"))
    assert spec.output_types["build_profile"]["profile"].field_map.keys() == {"bio", "skills", "contact"}
    assert spec.state_types["scores"] == TypeSpec("dict", key=TypeSpec("str"), value=TypeSpec("int"))


def test_version_numbers_become_text() -> None:
    spec = load_config(ROUTES.replace("  version: 1.0\n", "  version: 2\n"))
    assert spec.config.flow.version == "2"


@pytest.mark.parametrize("version", ['"1.0"', "'1.0'", "1.0"])
def test_schema_version_forms(version: str) -> None:
    spec = load_config(ROUTES.replace("schema_version: 1.0", f"schema_version: {version}"))
    assert spec.config.schema_version == "1.0"


def test_json_config_is_accepted() -> None:
    import json

    import yaml

    data = yaml.safe_load(ROUTES)
    spec = load_config(json.dumps(data, indent=2), filename="routes.json")
    assert spec.graph.successors("grade") == ["celebrate", "coach"]
    assert spec.config.schema_version == "1.0"


def test_compat_config_needs_only_the_provider_key() -> None:
    assert [req.names for req in _load("routes").env] == [("OPENAI_API_KEY",)]
    names = {n for req in _load("tools").env for n in req.names}
    assert names == {"OPENAI_API_KEY", "TAVILY_API_KEY", "SERPER_API_KEY"}
