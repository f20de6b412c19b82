"""Writing a workflow's code from what a run did: its actions (with the selectors the
page recorded for them, never skyq's element ids), the values the caller supplied as
parameters, and the reading of its output off the final page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from skyq.workflows.script import HELPERS_MODULE

INDENT = "    "
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class RecordedAction:
    """A completed action of a run, as the action record keeps it."""

    action_type: str
    target: dict[str, Any] | None
    payload: dict[str, Any]
    element_text: str | None = None


@dataclass(frozen=True)
class Source:
    title: str
    prompt: str
    url: str | None
    run_id: str


def literal(value: Any) -> str:
    """A Python literal for a JSON value (JSON's string escapes are Python's too)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(value)


def locator_code(target: dict[str, Any]) -> str:
    code = "page"
    if target.get("frame"):
        code += f".frame_locator({literal(target['frame'])})"
    by, value = target["by"], literal(target["value"])
    if by == "test_id":
        return f"{code}.get_by_test_id({value})"
    if by == "label":
        return f"{code}.get_by_label({value}, exact=True)"
    if by == "role":
        return f"{code}.get_by_role({value}, name={literal(target.get('name'))}, exact=True)"
    if by == "placeholder":
        return f"{code}.get_by_placeholder({value}, exact=True)"
    if by == "text":
        return f"{code}.get_by_text({value}, exact=True)"
    return f"{code}.locator({value})"


class _Parameters:
    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.defaults: dict[str, Any] = {}
        self.secrets: list[str] = []
        self.secret_values: dict[str, str] = {}  # value -> the parameter standing for it

    def value(self, text: str, target: dict[str, Any]) -> str:
        """``text`` as code: a parameter when the caller supplied it (it is in the
        prompt) or it went into a password field; a literal otherwise."""
        named = PLACEHOLDER.fullmatch(text)
        if named:  # the agent typed a secret by its placeholder: the same parameter
            name = named.group(1)
            self.defaults[name] = None
            if name not in self.secrets:
                self.secrets.append(name)
            return f"params[{literal(name)}]"
        secret = bool(target.get("secret"))
        if not secret and (not text or text not in self.prompt):
            return literal(text)
        name = self._name(target, None if secret else text)
        self.defaults[name] = None if secret else text
        if secret and name not in self.secrets:
            self.secrets.append(name)
        if secret and text:
            self.secret_values[text] = name
        return f"params[{literal(name)}]"

    def file(self, source: str, target: dict[str, Any]) -> str:
        """A file to upload is always a parameter, its default the run's own file (a URL
        or an artifact id), so that a replay can be given another."""
        name = self._name(target, source)
        self.defaults[name] = source
        return f"params[{literal(name)}]"

    def _name(self, target: dict[str, Any], default: str | None) -> str:
        """A name from the field's label; the same field typed again (the same value,
        or a secret again) keeps its name."""
        base = str(target.get("name") or target.get("value") or "value")
        base = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_")[:40] or "value"
        if base[0].isdigit() or base in ("page", "params"):
            base = f"field_{base}"
        name, n = base, 2
        while name in self.defaults and self.defaults[name] != default:
            name, n = f"{base}_{n}", n + 1
        return name


@dataclass(frozen=True)
class Written:
    code: str
    # Values typed into secret fields, and the placeholder that stands for each: they
    # stay out of the code, and out of the task's text where it is stored.
    secrets: dict[str, str]

    def scrub(self, text: str) -> str:
        for value, placeholder in self.secrets.items():
            text = text.replace(value, placeholder)
        return text


def generate(
    source: Source,
    actions: list[RecordedAction],
    plan: dict[str, Any] | None,
    *,
    prefix: list[str] | None = None,
    parameters: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
) -> Written:
    """The workflow's code. ``prefix``: statements of earlier code that worked (a
    regeneration after the agent took over), with the ``parameters`` and ``secrets``
    they use."""
    params = _Parameters(source.prompt)
    params.defaults.update(parameters or {})
    params.secrets.extend(secrets or [])
    body: list[str] = list(prefix or [])
    if source.url:
        body.append(f"await page.goto({literal(source.url)})")
    for action in actions:
        line = _statement(action, params)
        if line:
            body.append(line)
    if plan is not None:
        body.extend(f"return {_output(plan, 0)}".splitlines())
    # What went into a secret field stays out of the file, wherever else it was written.
    written = Written("", {v: "{{" + n + "}}" for v, n in params.secret_values.items()})
    title, prompt = written.scrub(source.title), written.scrub(source.prompt)
    head = [
        f'"""{_docstring_line(title)}',
        "",
        f"Published by skyq from run {source.run_id}. The task, as it was given:",
        *(f"    {line}" for line in _wrap(prompt)),
        "",
        "skyq runs this without a model, reading it as a short list of Playwright calls",
        "(goto, get_by_*, locator, click, fill, select_option, press ...) and read() or",
        "read_each() for the output; edit it within those. It runs on its own too:",
        "    python this_file.py --param name=value",
        '"""',
        "",
        f"from {HELPERS_MODULE} import main, read, read_each",
        "",
        f"PARAMETERS = {literal(params.defaults)}",
    ]
    if params.secrets:
        head.append(f"SECRETS = {literal(params.secrets)}  # given at run time, never stored")
    lines = [*head, "", "", "async def run(page, params):"]
    lines += [INDENT + line if line else "" for line in (body or ["pass"])]
    lines += ["", "", 'if __name__ == "__main__":', f"{INDENT}main(run, PARAMETERS)", ""]
    return Written("\n".join(lines), written.secrets)


def _statement(action: RecordedAction, params: _Parameters) -> str | None:
    payload, target = action.payload, action.target
    kind = action.action_type
    if kind == "goto":
        return f"await page.goto({literal(payload.get('url', ''))})"
    if kind == "wait":
        return f"await page.wait_for_timeout({int(float(payload.get('seconds', 1)) * 1000)})"
    if kind == "keypress" and target is None:
        return f"await page.keyboard.press({literal(payload.get('keys', 'Enter'))})"
    if target is None:
        return None  # scrolls, and elements with no selector to find them by
    where = locator_code(target)
    if kind == "click":
        return f"await {where}.click()"
    if kind == "input_text":
        return f"await {where}.fill({params.value(str(payload.get('text', '')), target)})"
    if kind == "select_option":
        return f"await {where}.select_option({literal(payload.get('option', ''))})"
    if kind == "keypress":
        return f"await {where}.press({literal(payload.get('keys', 'Enter'))})"
    if kind == "upload_file":
        source = str(payload.get("file_url") or payload.get("artifact_id") or "")
        return f"await {where}.set_input_files({params.file(source, target)})"
    return None


def _output(plan: dict[str, Any], depth: int) -> str:
    kind = plan["kind"]
    pad, inner = INDENT * depth, INDENT * (depth + 1)
    if kind == "object":
        if not plan["fields"]:
            return "{}"
        items = [
            f"{inner}{literal(k)}: {_output(v, depth + 1)}," for k, v in plan["fields"].items()
        ]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if kind == "list":
        items = [f"{inner}{_output(v, depth + 1)}," for v in plan["items"]]
        return "[\n" + "\n".join(items) + f"\n{pad}]" if items else "[]"
    if kind == "read":
        extra = "".join(
            f", {key}={literal(plan[key])}" for key in ("nth", "pattern") if plan.get(key)
        )
        return f"await read(page.locator({literal(plan['css'])}), {literal(plan['type'])}{extra})"
    if kind == "each":
        fields = {
            name: {k: v for k, v in spec.items() if v not in (None, "", 0) or k == "css"}
            for name, spec in plan["fields"].items()
        }
        extra = "".join(f", {key}={plan[key]}" for key in ("skip", "limit") if plan.get(key))
        field_lines = [f"{inner}{INDENT}{literal(k)}: {literal(v)}," for k, v in fields.items()]
        return (
            f"await read_each(\n{inner}page.locator({literal(plan['css'])}),\n{inner}{{\n"
            + "\n".join(field_lines)
            + f"\n{inner}}}{extra},\n{pad})"
        )
    return literal(plan.get("value"))


def _docstring_line(title: str) -> str:
    return " ".join(title.replace('"""', "'''").split())[:100] or "A published workflow"


def _wrap(text: str, width: int = 80) -> list[str]:
    words = text.replace('"""', "'''").replace("\\", "\\\\").split()
    lines, line = [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines
