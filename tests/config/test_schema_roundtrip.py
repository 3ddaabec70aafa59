"""The published JSON Schema agrees with the loader: what loads validates, what fails is refused.

Editors and the chat assistant check YAML against this schema, so a config the loader
accepts must never be flagged by it, and an unknown key must be flagged as the loader does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from cagents.config import load_config, workflow_json_schema
from cagents.config.schema import SCHEMA_ID

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def _sibling(name: str) -> ModuleType:
    """Another test module of this folder, imported by path (tests/config is not a package)."""
    module_name = f"_cagents_config_tests_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


COMPAT: dict[str, str] = _sibling("test_compat").COMPAT_CONFIGS
GOLDEN_BASE: str = _sibling("test_golden_errors").BASE


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(workflow_json_schema())


def _errors(validator: Draft202012Validator, data: Any) -> list[str]:
    """Each error as `path: message`, looking inside anyOf (Optional) for the real cause."""
    found = []
    for error in validator.iter_errors(data):
        best = best_match([error])
        found.append(f"{'/'.join(map(str, best.absolute_path))}: {best.message}")
    return found


def test_schema_is_valid_draft_2020_12() -> None:
    schema = workflow_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert set(schema["required"]) >= {"schema_version", "flow", "state", "nodes", "edges"}


def test_schema_is_a_fresh_copy_each_time() -> None:
    first = workflow_json_schema()
    first["title"] = "changed by a caller"
    first["$defs"].clear()
    second = workflow_json_schema()
    assert second["title"] != "changed by a caller"
    assert second["$defs"]


def test_schema_documents_x_keys_and_forbids_others() -> None:
    schema = workflow_json_schema()
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name
            assert "^x-" in definition.get("patternProperties", {}), name


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_every_example_validates_against_the_schema(path: Path, validator: Draft202012Validator) -> None:
    data = load_config(path).source.data
    assert _errors(validator, data) == []


@pytest.mark.parametrize("name", sorted(COMPAT))
def test_every_compat_config_validates_against_the_schema(name: str, validator: Draft202012Validator) -> None:
    data = load_config(COMPAT[name]).source.data
    assert _errors(validator, data) == []


def test_golden_base_validates_against_the_schema(validator: Draft202012Validator) -> None:
    assert _errors(validator, load_config(GOLDEN_BASE).source.data) == []


@pytest.mark.parametrize(
    ("where", "key", "patch"),
    [
        ("", "confg", lambda d: d.update(confg={})),
        ("flow", "titel", lambda d: d["flow"].update(titel="x")),
        ("state/fields/topic", "requried", lambda d: d["state"]["fields"]["topic"].update(requried=True)),
        ("nodes/0", "output", lambda d: d["nodes"][0].update(output=["summary"])),
        ("edges/0", "too", lambda d: d["edges"][0].update(too="write")),
        ("config/llm", "api_key", lambda d: d.update(config={"llm": {"api_key": "sk-1"}})),
        ("edges/2/loop", "exit", lambda d: d["edges"][2].update(
            to=None, loop={"condition_field": "done", "max_iterations": 2, "exit_to": "END", "exit": 1})),
    ],
)
def test_unknown_key_fails_against_the_schema(
    where: str, key: str, patch: Any, validator: Draft202012Validator
) -> None:
    from cagents.errors import ConfigError

    data = yaml.safe_load(GOLDEN_BASE)
    patch(data)
    errors = _errors(validator, data)
    assert errors == [f"{where}: '{key}' does not match any of the regexes: '^x-'"]
    with pytest.raises(ConfigError) as caught:
        load_config(yaml.safe_dump(data, sort_keys=False))
    assert any(issue.message.startswith(f"unknown key `{key}`") for issue in caught.value.issues)


def test_x_keys_pass_against_the_schema(validator: Draft202012Validator) -> None:
    data = yaml.safe_load(GOLDEN_BASE)
    data["x-owner"] = "team"
    data["flow"]["x-ticket"] = 12
    data["state"]["fields"]["topic"]["x-ui"] = {"widget": "textarea"}
    data["nodes"][0]["x-color"] = "#f00"
    data["edges"][0]["x-label"] = "begin"
    data["config"] = {"x-team": "a", "llm": {"provider": "openai", "x-tier": "cheap"}}
    assert _errors(validator, data) == []
    load_config(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        (lambda d: d.update(schema_version="2.0"), "schema_version"),
        (lambda d: d.update(nodes=[]), "nodes"),
        (lambda d: d["nodes"][0].update(kind="agent"), "nodes/0/kind"),
        (lambda d: d.update(config={"llm": {"temperature": 3}}), "config/llm/temperature"),
        (lambda d: d["nodes"][0].update(outputs="summary"), "nodes/0/outputs"),
        (lambda d: d["nodes"][0].pop("id"), "nodes/0"),
    ],
)
def test_shape_errors_fail_both_the_schema_and_the_loader(
    patch: Any, path: str, validator: Draft202012Validator
) -> None:
    from cagents.errors import ConfigError

    data = yaml.safe_load(GOLDEN_BASE)
    patch(data)
    errors = _errors(validator, data)
    assert any(e.startswith(path + ":") for e in errors), errors
    with pytest.raises(ConfigError):
        load_config(yaml.safe_dump(data, sort_keys=False))


def test_unquoted_versions_pass_the_schema(validator: Draft202012Validator) -> None:
    """`schema_version: 1.0` and `version: 1.0` load, so an editor must not flag them."""
    data = yaml.safe_load(GOLDEN_BASE)
    data["schema_version"] = 1.0
    data["flow"]["version"] = 1.0
    load_config(yaml.safe_dump(data, sort_keys=False))
    assert _errors(validator, data) == []


def test_lower_case_logging_level_passes_the_schema(validator: Draft202012Validator) -> None:
    data = yaml.safe_load(GOLDEN_BASE)
    data["config"] = {"observability": {"logging": {"level": "info"}}}
    load_config(yaml.safe_dump(data, sort_keys=False))
    assert _errors(validator, data) == []
