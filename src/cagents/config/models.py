"""Pydantic models of the `schema_version: "1.0"` workflow format and its extensions.

The models check shape (keys, types, enumerations); the graph and type rules that need
the whole workflow live in `validate.py`. Every model forbids unknown keys, except keys
starting with `x-`, which are accepted and ignored so tools can annotate configs.
Models are frozen: a validated workflow never changes under a running engine.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from cagents.config.providers import PROVIDER_INFO

__all__ = [
    "Edge",
    "ExecutionSettings",
    "Flow",
    "LLMConfig",
    "LoggingSettings",
    "Loop",
    "MemorySettings",
    "MlflowSettings",
    "Node",
    "NodeKind",
    "ObservabilitySettings",
    "OptimizationSettings",
    "OutputField",
    "OutputSchema",
    "Parallel",
    "Route",
    "RouteCondition",
    "Sandbox",
    "SandboxResources",
    "Settings",
    "StateField",
    "StateSchema",
    "StorageSettings",
    "ToolRef",
    "ToolsSettings",
    "Trigger",
    "Webhook",
    "WorkflowConfig",
    "PROVIDERS",
    "START",
    "END",
]

START = "START"
END = "END"
PROVIDERS = tuple(PROVIDER_INFO)
NodeKind = Literal["llm", "code", "tool", "human"]

_X_KEYS = {"patternProperties": {"^x-": {}}}


class _Model(BaseModel):
    """Base: unknown keys are errors, `x-` keys are dropped, instances are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra=_X_KEYS,
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_extension_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(k, str) and k.startswith("x-") for k in data):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        return data


def _either(first: Any, first_tag: str, second: Any, second_tag: str, pick: Any) -> Any:
    """A two-way union validated by one branch only, so errors name one shape, not both."""
    return Annotated[
        Union[Annotated[first, Tag(first_tag)], Annotated[second, Tag(second_tag)]],
        Discriminator(pick),
    ]


def _str_or_other(value: Any) -> str:
    return "text" if isinstance(value, str) else "other"


# ---- flow ---------------------------------------------------------------------------------


class Flow(_Model):
    """Workflow metadata shown in lists, diagrams and MLflow."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    name: str = Field(description="Workflow identifier, used in the executions history.")
    description: str | None = None
    version: str | None = None
    tags: list[str] = Field(default_factory=list)
    author: str | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("flow.name must not be empty")
        return value.strip()


# ---- state --------------------------------------------------------------------------------


class StateField(_Model):
    """One field of the workflow state; `type` uses the mini-language of `types.py`."""

    type: str = Field(description="str, int, float, bool, list, dict, object, list[T], dict[K, V]")
    required: bool = False
    default: Any = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="Nested schema of an object field."
    )


class StateSchema(_Model):
    fields: dict[str, StateField]


# ---- nodes --------------------------------------------------------------------------------


class OutputField(_Model):
    """A field of an object `output_schema` (configurable-agents form)."""

    name: str
    type: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class OutputSchema(_Model):
    """What the node returns: one value (`type: str`) or an object of named fields."""

    type: str
    fields: list[OutputField] | None = None
    description: str | None = None


class LLMConfig(_Model):
    """Model settings, workflow-wide in `config.llm` or per node in `llm`."""

    provider: str | None = Field(default=None, description="One of: " + ", ".join(PROVIDERS))
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    api_base: str | None = Field(default=None, description="Older name of base_url.")
    base_url: str | None = None
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key."
    )

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "a").isalnum():
            raise ValueError(
                "api_key_env must be the NAME of an environment variable (like OPENAI_API_KEY), "
                "not a key"
            )
        return value


class ToolRef(_Model):
    """A tool a node may use, with its error policy and per-tool settings."""

    name: str
    on_error: Literal["fail", "continue"] = "fail"
    config: dict[str, Any] = Field(default_factory=dict)


ToolEntry = _either(str, "text", ToolRef, "other", _str_or_other)


class MemorySettings(_Model):
    """Agent memory: records kept across executions, scoped to agent, workflow or node."""

    enabled: bool = False
    default_scope: Literal["agent", "workflow", "node"] = "workflow"
    max_items: int = Field(default=20, ge=1, le=1000)


class SandboxResources(_Model):
    cpu: float | None = Field(default=None, gt=0)
    memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?[kmgKMG]?[bB]?$")
    timeout: float | None = Field(default=None, gt=0, le=3600)


class Sandbox(_Model):
    """Limits of a code node: it always runs out of process; these tighten or loosen it."""

    enabled: bool = True
    mode: Literal["python", "docker"] = "python"
    network: bool = False
    preset: Literal["low", "medium", "high", "max"] = "medium"
    timeout: float | None = Field(default=None, gt=0, le=3600)
    resources: SandboxResources | None = None


class OptimizeSettings(_Model):
    """Node-level DSPy settings of configurable-agents; accepted, not used by this runtime."""

    enabled: bool = False
    metric: str | None = None
    strategy: str | None = None
    max_demos: int | None = None


class Node(_Model):
    """One step of the workflow."""

    id: str
    name: str | None = Field(default=None, description="Display name.")
    description: str | None = None
    kind: NodeKind | None = Field(
        default=None, description="llm (default), code (when `code` is set), tool or human."
    )
    prompt: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=list)
    output_schema: OutputSchema | None = None
    tools: list[ToolEntry] = Field(default_factory=list)  # type: ignore[valid-type]
    tool: ToolEntry | None = Field(default=None, description="The tool a `kind: tool` node calls.")  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict, description="Templated tool arguments.")
    llm: LLMConfig | None = None
    memory: MemorySettings | None = None
    code: str | None = None
    sandbox: Sandbox | None = None
    retries: int | None = Field(default=None, ge=0, le=20)
    timeout: float | None = Field(default=None, gt=0)
    max_tool_steps: int | None = Field(default=None, ge=1, le=100)
    optimize: OptimizeSettings | None = None
    log_prompts: bool | None = None
    log_artifacts: bool | None = None

    @property
    def effective_kind(self) -> str:
        if self.kind is not None:
            return self.kind
        return "code" if self.code is not None else "llm"

    @cached_property
    def tool_refs(self) -> list[ToolRef]:
        return [ToolRef(name=t) if isinstance(t, str) else t for t in self.tools]

    @cached_property
    def tool_ref(self) -> ToolRef | None:
        if self.tool is None:
            return None
        return ToolRef(name=self.tool) if isinstance(self.tool, str) else self.tool

    @property
    def label(self) -> str:
        return self.name or self.id


# ---- edges --------------------------------------------------------------------------------


class RouteCondition(_Model):
    logic: str = Field(description="A condition such as `state.score >= 8`, or `default`.")


class Route(_Model):
    """One branch of a conditional edge: `condition: {logic: ...}` or the `when:` shorthand."""

    condition: RouteCondition | None = None
    when: str | None = None
    to: str

    @property
    def logic(self) -> str:
        if self.when is not None:
            return self.when
        return self.condition.logic if self.condition is not None else ""

    @property
    def is_default(self) -> bool:
        return self.logic.strip() == "default"


def _state_field(name: str) -> str:
    """A field named `x` or `state.x` in loop and map settings: the field's own name."""
    name = name.strip()
    return name[6:] if name.startswith("state.") else name


class Loop(_Model):
    """Run the `from` node again until `condition_field` is true, at most `max_iterations` times."""

    condition_field: str
    max_iterations: int = Field(ge=1, le=10_000)
    exit_to: str
    back_to: str | None = Field(
        default=None, description="Node to loop back to (default: the `from` node)."
    )

    @property
    def field_name(self) -> str:
        return _state_field(self.condition_field)


class Parallel(_Model):
    """Run `target_node` once per item of `items_field`, collecting outputs in order."""

    items_field: str
    target_node: str
    collect_field: str
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)

    @property
    def items_name(self) -> str:
        return _state_field(self.items_field)

    @property
    def collect_name(self) -> str:
        return _state_field(self.collect_field)


def _one_or_many(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


class Edge(_Model):
    """An edge: linear (`to`), fan-out (`to: [..]`), conditional (`routes`), `loop` or `parallel`."""

    from_: str = Field(alias="from")
    to: _either(str, "one", list[str], "many", _one_or_many) | None = None  # type: ignore[valid-type]
    routes: list[Route] | None = None
    loop: Loop | None = None
    parallel: Parallel | None = None

    @cached_property
    def kind(self) -> str:
        if self.routes is not None:
            return "conditional"
        if self.loop is not None:
            return "loop"
        if self.parallel is not None:
            return "parallel"
        if isinstance(self.to, list):
            return "fanout"
        return "linear"

    @cached_property
    def targets(self) -> list[str]:
        """Every node this edge can lead to."""
        if self.routes is not None:
            return [route.to for route in self.routes]
        if self.loop is not None:
            return [self.loop.back_to or self.from_, self.loop.exit_to]
        if self.parallel is not None:
            return [self.parallel.target_node]
        if isinstance(self.to, list):
            return list(self.to)
        return [self.to] if self.to is not None else []


# ---- config -------------------------------------------------------------------------------


class ExecutionSettings(_Model):
    timeout: float = Field(default=600, gt=0, description="Seconds for the whole execution.")
    max_retries: int = Field(default=3, ge=0, le=20, description="Retries of transient LLM errors.")
    max_steps: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Bound on node runs (bounds any cycle)."
    )
    max_concurrency: int = Field(default=16, ge=1, le=1000)


class MlflowSettings(_Model):
    enabled: bool = True
    tracking_uri: str | None = None
    experiment_name: str | None = None
    run_name: str | None = None
    log_prompts: bool = True
    log_artifacts: bool = True
    artifact_level: Literal["minimal", "standard", "full"] = "standard"
    async_logging: bool = True
    retention_days: int | None = Field(default=None, ge=1)
    redact_pii: bool = False


class LoggingSettings(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ObservabilitySettings(_Model):
    mlflow: MlflowSettings | None = None
    logging: LoggingSettings | None = None


class StorageSettings(_Model):
    backend: str = "sqlite"
    path: str | None = None


class ToolsSettings(_Model):
    """Workflow-wide tool policy: unsafe tools are refused unless listed in `allow`."""

    allow: list[str] = Field(default_factory=list)
    allow_private_network: bool = False
    workspace: str | None = None


class Settings(_Model):
    llm: LLMConfig | None = None
    execution: ExecutionSettings | None = None
    observability: ObservabilitySettings | None = None
    storage: StorageSettings | None = None
    memory: MemorySettings | None = None
    tools: ToolsSettings | None = None


class Webhook(_Model):
    """configurable-agents webhook block: the workflow may be started by an HTTP call."""

    enabled: bool = False
    allowed_methods: list[str] = Field(default_factory=lambda: ["generic"])
    default_inputs: dict[str, Any] = Field(default_factory=dict)


class Trigger(_Model):
    """A way to start the workflow besides a person: today, a webhook."""

    type: Literal["webhook"] = "webhook"
    name: str | None = None
    methods: list[Literal["GET", "POST", "PUT"]] = Field(default_factory=lambda: ["POST"])
    default_inputs: dict[str, Any] = Field(default_factory=dict)
    secret_env: str | None = Field(
        default=None, description="Env var holding a shared secret the caller must send."
    )


class OptimizationSettings(_Model):
    """Workflow-level DSPy settings of configurable-agents; accepted, not used here."""

    enabled: bool = False
    strategy: str = "BootstrapFewShot"
    metric: str = "semantic_match"
    max_demos: int = Field(default=4, gt=0)


class WorkflowConfig(_Model):
    """A whole workflow file."""

    schema_version: Literal["1.0"]
    flow: Flow
    state: StateSchema
    nodes: list[Node] = Field(min_length=1)
    edges: list[Edge] = Field(min_length=1)
    config: Settings | None = None
    webhook: Webhook | None = None
    triggers: list[Trigger] = Field(default_factory=list)
    optimization: OptimizationSettings | None = None

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # `schema_version: 1.0` unquoted is a float in YAML; it means the same version.
        if isinstance(value, float) and value == 1.0:
            return "1.0"
        return value

    # Convenience accessors that apply defaults once, in one place.
    @cached_property
    def settings(self) -> Settings:
        return self.config or Settings()

    @cached_property
    def execution(self) -> ExecutionSettings:
        return self.settings.execution or ExecutionSettings()

    @cached_property
    def tools_settings(self) -> ToolsSettings:
        return self.settings.tools or ToolsSettings()

    @cached_property
    def _nodes_by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    def node(self, node_id: str) -> Node:
        return self._nodes_by_id[node_id]
