"""`workflows/validate`, `workflows/diagram`, `health`, `info` and the API's error shape."""

from __future__ import annotations

from typing import Any

GOOD = """\
schema_version: "1.0"
flow: {name: greet}
state:
  fields:
    name: {type: str, required: true}
    greeting: {type: str, default: ""}
nodes:
  - id: hello
    prompt: "Say hello to {state.name}"
    outputs: [greeting]
edges:
  - {from: START, to: hello}
  - {from: hello, to: END}
"""

BAD = GOOD.replace("outputs: [greeting]", "outputz: [greeting]")


def test_validate_reports_a_valid_workflow_with_its_schemas(api: Any) -> None:
    reply = api("POST", "workflows/validate", {"yaml": GOOD})
    assert reply.code == 200
    report = reply.json
    assert report["valid"] is True
    assert report["workflow"] == "greet"
    assert report["input_schema"]["required"] == ["name"]
    assert "greeting" in report["output_schema"]["properties"]


def test_validate_points_at_the_line_of_a_typo(api: Any) -> None:
    report = api("POST", "workflows/validate", {"yaml": BAD, "filename": "flow.yaml"}).json
    assert report["valid"] is False
    (issue,) = [i for i in report["issues"] if i["key"] == "nodes[0].outputz"]
    assert issue["line"] == 10
    assert issue["file"] == "flow.yaml"
    assert "outputs" in (issue["hint"] or "")


def test_diagram_in_mermaid_and_svg(api: Any) -> None:
    mermaid = api("POST", "workflows/diagram", {"yaml": GOOD}).json
    assert mermaid["format"] == "mermaid"
    assert "hello" in mermaid["diagram"]
    svg = api("POST", "workflows/diagram", {"yaml": GOOD, "format": "svg"})
    assert svg.code == 200
    assert svg.json["diagram"].lstrip().startswith(("<?xml", "<svg", "<!--"))


def test_diagram_of_invalid_yaml_is_a_400_with_issues(api: Any) -> None:
    reply = api("POST", "workflows/diagram", {"yaml": BAD})
    assert reply.code == 400
    assert reply.json["error"] == "ConfigError"
    assert reply.json["issues"][0]["line"] == 10
    assert "traceback" not in reply.body.decode().lower()


def test_bad_bodies_name_the_field(api: Any) -> None:
    reply = api("POST", "workflows/validate", raw_body="{not json")
    assert reply.code == 400
    assert reply.json["error"] == "RequestError"
    assert "not valid JSON" in reply.json["message"]

    reply = api("POST", "workflows/validate", [1, 2])
    assert reply.code == 400
    assert "JSON object" in reply.json["message"]

    reply = api("POST", "workflows/validate", {"yaml": 42})
    assert reply.code == 422
    assert reply.json["field"] == "yaml"
    assert "must be a string" in reply.json["message"]

    reply = api("POST", "workflows/validate", {})
    assert reply.code == 422
    assert reply.json["field"] == "yaml"

    reply = api("POST", "workflows/diagram", {"yaml": GOOD, "fromat": "svg"})
    assert reply.code == 422
    assert reply.json["field"] == "fromat"

    reply = api("POST", "workflows/diagram", {"yaml": GOOD, "format": "png"})
    assert reply.code == 422
    assert reply.json["field"] == "format"


def test_unknown_api_path_is_a_json_404(api: Any) -> None:
    reply = api("GET", "no/such/thing")
    assert reply.code == 404
    assert "no route GET /cagents/api/no/such/thing" in reply.json["message"]


def test_health_and_info_never_show_a_key(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-123456")
    assert api("GET", "health").json == {"status": "ok"}
    reply = api("GET", "info")
    assert reply.code == 200
    info = reply.json
    assert "sk-canary" not in reply.body.decode()
    assert info["llm"]["providers_with_keys"] == [{"provider": "openai", "key_env": "OPENAI_API_KEY"}]
    assert info["llm"]["simulator"] is False
    assert info["versions"]["cagents"]
    assert info["mlflow"]["mode"] == "embedded"
    assert info["mlflow"]["ui_url"].endswith("/cagents/mlflow/")
    assert info["database"].endswith("configurable_agents.db")


def test_anonymous_requests_are_refused(api: Any) -> None:
    for method, path in (("GET", "info"), ("GET", "health"), ("POST", "workflows/validate")):
        reply = api.anonymous(method, path, {"yaml": GOOD} if method == "POST" else None)
        assert reply.code == 403, (method, path)


def test_browser_writes_need_the_xsrf_token(api: Any) -> None:
    cookies = api.browser_cookies()
    assert cookies
    refused = api.browser("POST", "workflows/validate", {"yaml": GOOD}, cookies=cookies, xsrf=None)
    assert refused.code == 403
    accepted = api.browser("POST", "workflows/validate", {"yaml": GOOD}, cookies=cookies, xsrf="abc123")
    assert accepted.code == 200, accepted.body
