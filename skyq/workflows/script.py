"""Reading a workflow's code: the Python that ``codegen`` writes, and that people edit.

skyq never executes the code as Python (it is stored by API callers, and the worker
sits inside your network). It reads it with ``ast`` into operations over a small, fixed
vocabulary of Playwright calls, and the browser room performs those. Anything outside
the vocabulary is refused when the code is saved, with its line, so what is stored is
always what will run. The same file is also a plain Playwright script: run it with
Python and it does the same thing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from skyq.errors import InvalidRequestError

HELPERS_MODULE = "skyq.browser.script_helpers"
# Calls that narrow a locator, and what they may be given.
LOCATOR_CALLS = {
    "get_by_role": {"name", "exact"},
    "get_by_label": {"exact"},
    "get_by_placeholder": {"exact"},
    "get_by_text": {"exact"},
    "get_by_test_id": set(),
    "get_by_alt_text": {"exact"},
    "get_by_title": {"exact"},
    "locator": {"has_text"},
    "frame_locator": set(),
    "nth": set(),
}
LOCATOR_PROPERTIES = {"first", "last"}
# What may be done to an element, and to the page.
ELEMENT_ACTIONS = {
    "click",
    "dblclick",
    "fill",
    "select_option",
    "check",
    "uncheck",
    "press",
    "hover",
    "focus",
    # A file input's file: inside skyq a URL or a stored artifact (a_...), fetched
    # under the egress rules; standalone, Playwright's own path.
    "set_input_files",
}
PAGE_ACTIONS = {"goto", "wait_for_timeout", "wait_for_load_state", "go_back", "reload"}
KEYBOARD_ACTIONS = {"press", "type"}


class ScriptError(InvalidRequestError):
    """The code uses something skyq does not run; names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__("code", f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Param:
    name: str


Value = Any  # a JSON constant or a Param


@dataclass(frozen=True)
class Call:
    """One link of a locator chain: ``name(*args, **kwargs)``, or a property."""

    name: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()
    is_property: bool = False


@dataclass(frozen=True)
class Op:
    """One statement of ``run()``: ``action`` on the element ``chain`` finds (``chain``
    empty: on the page; ``keyboard``: on the keyboard)."""

    line: int
    source: str  # as written
    code: str  # the same statement, normalised to one line (for regenerated code)
    chain: tuple[Call, ...]
    action: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()
    keyboard: bool = False

    def params(self) -> set[str]:
        """The names of the parameters this statement uses."""
        values = [*self.args, *(v for _, v in self.kwargs)]
        for link in self.chain:
            values.extend([*link.args, *(v for _, v in link.kwargs)])
        return {v.name for v in values if isinstance(v, Param)}


@dataclass(frozen=True)
class Drawn:
    """A secret fetched at the moment a line uses it, not given with the run: a
    one-time code, which would expire if it were fetched when the run starts."""

    name: str


@dataclass
class Script:
    parameters: dict[str, Any]
    ops: list[Op]
    # What run() returns: a plan tree (object/list/const/read/each/param) whose reads
    # hold locator chains.
    output: dict[str, Any] | None = None
    docstring: str | None = None
    secrets: set[str] = field(default_factory=set)

    def values(
        self, given: dict[str, Any] | None, drawn: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The parameters a run uses: the defaults, overridden by ``given``; a secret
        named in ``drawn`` that has no value is ``Drawn``, to be fetched when a line
        uses it. Raises InvalidRequestError naming a parameter that has no value or is
        unknown."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            raise InvalidRequestError(
                f"parameters.{unknown[0]}",
                f"the workflow has no parameter {unknown[0]!r} "
                f"(it has: {', '.join(self.parameters) or 'none'})",
            )
        merged = {**self.parameters, **given}
        for name, value in merged.items():
            if value is None and name in drawn and name in self.secrets:
                merged[name] = Drawn(name)
            elif value is None:
                raise InvalidRequestError(f"parameters.{name}", "has no value: pass it")
        return merged


def parse_script(code: str) -> Script:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ScriptError(exc.lineno or 0, f"not valid Python: {exc.msg}") from None
    reader = _Reader(code)
    return reader.module(tree)


class _Reader:
    def __init__(self, code: str) -> None:
        self.code = code
        self.parameters: dict[str, Any] | None = None
        self.secret_names: set[str] = set()

    def module(self, tree: ast.Module) -> Script:
        run = self._top_level(tree)
        if run is None:
            raise ScriptError(1, "no `async def run(page, params):`")
        if [a.arg for a in run.args.args] != ["page", "params"]:
            raise ScriptError(run.lineno, "run() takes exactly (page, params)")
        ops, output = self._body(run)
        unknown = self.secret_names - set(self.parameters or {})
        if unknown:
            raise ScriptError(1, f"SECRETS names {sorted(unknown)[0]!r}, not a parameter")
        return Script(
            self.parameters or {}, ops, output, ast.get_docstring(tree), self.secret_names
        )

    def _top_level(self, tree: ast.Module) -> ast.AsyncFunctionDef | None:
        run = None
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef) and node.name == "run":
                run = node
            elif isinstance(node, ast.Assign) and _assigns(node, "PARAMETERS"):
                self.parameters = self._parameters(node.value)
            elif isinstance(node, ast.Assign) and _assigns(node, "SECRETS"):
                self.secret_names = set(self._constant(node.value) or [])
            elif not (
                (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
                or (isinstance(node, ast.ImportFrom) and node.module == HELPERS_MODULE)
                or (isinstance(node, ast.If) and _is_main_guard(node))
            ):
                raise ScriptError(
                    node.lineno,
                    "only a docstring, PARAMETERS, SECRETS, `async def run(page, params)` "
                    "and the __main__ guard may stand at the top level",
                )
        return run

    def _body(self, run: ast.AsyncFunctionDef) -> tuple[list[Op], dict[str, Any] | None]:
        ops: list[Op] = []
        output = None
        for index, statement in enumerate(run.body):
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue
            if isinstance(statement, ast.Return):
                if index != len(run.body) - 1:
                    raise ScriptError(statement.lineno, "return must be the last statement")
                output = self._output(statement.value) if statement.value else None
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Await):
                ops.append(self._op(statement))
            else:
                raise ScriptError(
                    statement.lineno, "each statement of run() is `await page...` or the return"
                )
        return ops, output

    # statements ------------------------------------------------------------------

    def _op(self, statement: ast.Expr) -> Op:
        call = statement.value.value  # type: ignore[attr-defined]
        line = statement.lineno
        source = ast.get_source_segment(self.code, statement) or ""
        code = ast.unparse(statement)
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            raise ScriptError(line, "expected `await page.<call>(...)`")
        action = call.func.attr
        target = call.func.value
        args = tuple(self._value(a) for a in call.args)
        kwargs = tuple((k.arg or "", self._value(k.value)) for k in call.keywords)
        if isinstance(target, ast.Name) and target.id == "page":
            if action not in PAGE_ACTIONS:
                raise ScriptError(line, f"page.{action}() is not one skyq runs")
            return Op(line, source, code, (), action, args, kwargs)
        if (
            isinstance(target, ast.Attribute)
            and target.attr == "keyboard"
            and isinstance(target.value, ast.Name)
            and target.value.id == "page"
        ):
            if action not in KEYBOARD_ACTIONS:
                raise ScriptError(line, f"page.keyboard.{action}() is not one skyq runs")
            return Op(line, source, code, (), action, args, kwargs, keyboard=True)
        if action not in ELEMENT_ACTIONS:
            raise ScriptError(line, f".{action}() is not an action skyq runs")
        return Op(line, source, code, self._chain(target), action, args, kwargs)

    def _chain(self, node: ast.expr) -> tuple[Call, ...]:
        links: list[Call] = []
        while not (isinstance(node, ast.Name) and node.id == "page"):
            if isinstance(node, ast.Attribute) and node.attr in LOCATOR_PROPERTIES:
                links.append(Call(node.attr, is_property=True))
                node = node.value
                continue
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                raise ScriptError(
                    node.lineno, "a locator starts at page and chains get_by_*/locator"
                )
            name = node.func.attr
            allowed = LOCATOR_CALLS.get(name)
            if allowed is None:
                raise ScriptError(node.lineno, f".{name}() is not a locator skyq understands")
            extra = {k.arg or "**" for k in node.keywords} - allowed
            if extra:
                raise ScriptError(node.lineno, f".{name}() does not take {sorted(extra)[0]}=")
            links.append(
                Call(
                    name,
                    tuple(self._value(a) for a in node.args),
                    tuple((k.arg or "", self._value(k.value)) for k in node.keywords),
                )
            )
            node = node.func.value
        if not links:
            raise ScriptError(node.lineno, "an action needs an element: page.get_by_...")
        return tuple(reversed(links))

    # values ----------------------------------------------------------------------

    def _value(self, node: ast.expr) -> Value:
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "params"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            name = node.slice.value
            if self.parameters is None or name not in self.parameters:
                raise ScriptError(node.lineno, f"params[{name!r}] is not in PARAMETERS")
            return Param(name)
        return self._constant(node)

    def _constant(self, node: ast.expr) -> Any:
        try:
            return ast.literal_eval(node)
        except ValueError:
            raise ScriptError(node.lineno, "expected a literal or params[...] here") from None

    def _parameters(self, node: ast.expr) -> dict[str, Any]:
        value = self._constant(node)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ScriptError(node.lineno, "PARAMETERS is a dict of names to default values")
        for name, default in value.items():
            if default is not None and not isinstance(default, str | int | float | bool):
                raise ScriptError(node.lineno, f"PARAMETERS[{name!r}] is not a plain value")
        return value

    def _output(self, node: ast.expr) -> dict[str, Any]:
        if isinstance(node, ast.Dict):
            fields = {}
            for key, value in zip(node.keys, node.values, strict=True):
                if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                    raise ScriptError(node.lineno, "output keys are strings")
                fields[key.value] = self._output(value)
            return {"kind": "object", "fields": fields}
        if isinstance(node, ast.List):
            return {"kind": "list", "items": [self._output(item) for item in node.elts]}
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            return self._read(node.value)
        value = self._value(node)
        if isinstance(value, Param):
            return {"kind": "param", "name": value.name}
        return {"kind": "const", "value": value}

    def _read(self, call: ast.Call) -> dict[str, Any]:
        name = call.func.id if isinstance(call.func, ast.Name) else None
        kwargs = {k.arg or "**": self._constant(k.value) for k in call.keywords}
        if name == "read" and 1 <= len(call.args) <= 2:
            kind = self._constant(call.args[1]) if len(call.args) == 2 else "text"
            if kind not in ("text", "number", "integer"):
                raise ScriptError(call.lineno, "read() kinds: text, number, integer")
            if set(kwargs) - {"nth", "pattern"}:
                raise ScriptError(call.lineno, "read() takes nth= and pattern=")
            return {"kind": "read", "chain": self._chain(call.args[0]), "type": kind, **kwargs}
        if name == "read_each" and len(call.args) == 2:
            fields = self._constant(call.args[1])
            if not isinstance(fields, dict) or not all(
                isinstance(v, dict) for v in fields.values()
            ):
                raise ScriptError(call.lineno, "read_each() fields: {name: {css, type, ...}}")
            if set(kwargs) - {"skip", "limit"}:
                raise ScriptError(call.lineno, "read_each() takes skip= and limit=")
            return {
                "kind": "each",
                "chain": self._chain(call.args[0]),
                "fields": fields,
                **kwargs,
            }
        raise ScriptError(call.lineno, "the output reads with read(...) or read_each(...)")


def _assigns(node: ast.Assign, name: str) -> bool:
    return (
        len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and (node.targets[0].id == name)
    )


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
