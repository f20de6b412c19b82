"""Workflow code: what codegen writes reads back as the same operations, and what skyq
would not run is refused with its line."""

from __future__ import annotations

import pytest

from skyq.errors import InvalidRequestError
from skyq.workflows.codegen import RecordedAction, Source, generate
from skyq.workflows.script import Drawn, Param, ScriptError, parse_script

TRICKY = 'a "quoted" \\ back\\slash, ünïcode\nand a newline'


def written(actions, plan=None, prompt="Fill the form with " + TRICKY):
    source = Source(title="t", prompt=prompt, url="https://shop.example/", run_id="tsk_1")
    return generate(source, actions, plan)


def test_generated_code_reads_back_as_the_same_calls():
    target = {"by": "label", "value": 'Your "name"'}
    actions = [
        RecordedAction("input_text", target, {"text": TRICKY}),
        RecordedAction("select_option", {"by": "css", "value": "select#size"}, {"option": "M"}),
        RecordedAction("click", {"by": "role", "value": "button", "name": "Send"}, {}),
        RecordedAction("keypress", None, {"keys": "Enter"}),
        RecordedAction("scroll", None, {"direction": "down"}),
    ]
    plan = {"kind": "object", "fields": {"ok": {"kind": "const", "value": True}}}
    script = parse_script(written(actions, plan).code)
    goto, fill, select, click, press = script.ops
    assert goto.action == "goto" and goto.args == ("https://shop.example/",)
    assert fill.chain[0].name == "get_by_label" and fill.chain[0].args == ('Your "name"',)
    assert fill.args == (Param("your_name"),)
    assert script.parameters == {"your_name": TRICKY}  # in the prompt: a parameter
    assert select.args == ("M",) and click.chain[0].kwargs == (("name", "Send"), ("exact", True))
    assert press.keyboard and press.args == ("Enter",)
    assert script.output == {"kind": "object", "fields": {"ok": {"kind": "const", "value": True}}}


def test_a_password_field_becomes_a_secret_kept_out_of_the_file():
    secret_target = {"by": "label", "value": "Password", "secret": True}
    result = written(
        [RecordedAction("input_text", secret_target, {"text": "hunter2!"})],
        prompt="Log in with hunter2!",
    )
    assert "hunter2!" not in result.code
    assert result.scrub("Log in with hunter2!") == "Log in with {{password}}"
    script = parse_script(result.code)
    assert script.secrets == {"password"} and script.parameters == {"password": None}
    with pytest.raises(InvalidRequestError) as missing:
        script.values({})
    assert missing.value.field == "parameters.password"
    with pytest.raises(InvalidRequestError) as unknown:
        script.values({"password": "x", "pin": "1"})
    assert unknown.value.field == "parameters.pin"


def test_a_one_time_code_is_drawn_when_the_run_can_fetch_one_and_a_file_is_a_parameter():
    code_field = {"by": "label", "value": "Verification code"}
    file_input = {"by": "label", "value": "Document"}
    actions = [
        RecordedAction("input_text", code_field, {"text": "{{verification_code}}"}),
        RecordedAction("upload_file", file_input, {"artifact_id": "a_123"}),
    ]
    script = parse_script(written(actions).code)
    _, typed, upload = script.ops
    assert typed.params() == {"verification_code"} and upload.action == "set_input_files"
    assert script.parameters == {"verification_code": None, "document": "a_123"}
    drawn = script.values({}, frozenset({"verification_code"}))
    assert drawn == {"verification_code": Drawn("verification_code"), "document": "a_123"}
    with pytest.raises(InvalidRequestError, match="has no value"):
        script.values({})  # no source of codes: the code is a parameter like any other


BASE = """PARAMETERS = {"q": "x"}


async def run(page, params):
    await page.goto("https://a.example/")
%s
"""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('    await page.evaluate("fetch(1)")', "page.evaluate() is not one skyq runs"),
        ('    await page.locator("a").evaluate("x")', ".evaluate() is not an action skyq runs"),
        ('    await page.get_by_role("button", nam="x").click()', "does not take nam="),
        ('    await page.locator("a").fill(params["nope"])', "params['nope'] is not in PARAMETERS"),
        ('    await page.locator("a").fill(__import__("os"))', "a literal or params[...]"),
        ("    x = 1", "each statement of run() is"),
        ("    return 1\n    await page.reload()", "return must be the last statement"),
        ('    await page.get_by_label("x").fill(open("/etc/passwd").read())', "a literal"),
    ],
)
def test_code_outside_the_vocabulary_is_refused_with_its_line(line, message):
    with pytest.raises(ScriptError) as refused:
        parse_script(BASE % line)
    assert message in str(refused.value)
    assert refused.value.field == "code" and refused.value.line >= 6


def test_top_level_code_is_refused():
    with pytest.raises(ScriptError) as refused:
        parse_script("import os\n" + BASE % "")
    assert refused.value.line == 1 and "top level" in str(refused.value)
    with pytest.raises(ScriptError, match="not valid Python"):
        parse_script("async def run(page, params)\n")
    with pytest.raises(ScriptError, match="no `async def run"):
        parse_script("PARAMETERS = {}\n")
