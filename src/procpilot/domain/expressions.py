"""A small, safe expression language for ``branch`` conditions, validations and ``set`` values.

No ``eval``: text is tokenised and parsed into a tree (precedence climbing), then evaluated
against a plain dict. Only these forms exist:

    literals     1  2.5  'text'  "text"  true  false  null  [1, 2]
    names        slots.amount   conversation.user_id   result.items[0].price
    operators    or  and  not  ==  !=  <  <=  >  >=  in  not in  +  -  *  /  %
    functions    len  lower  upper  abs  round  min  max  sum  number  text  today  days_between  put  compact
                 any_of(list, key, value)  pluck(list, key)  find(list, key, value)  concat(a, b, ...)

A missing name evaluates to null, so ``not slots.user_id`` reads naturally.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from procpilot.domain.errors import ExpressionError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|%|\(|\)|\[|\]|,|\.)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)

_BINARY = {
    "or": 1,
    "and": 2,
    "==": 4,
    "!=": 4,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "in": 4,
    "not in": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def _tokenise(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"unexpected character {source[pos : pos + 1]!r} at {pos} in {source!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenise(source)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ExpressionError(
                f"expected {text!r} at {token.pos} in {self.source!r}, found {token.text!r}"
            )

    def binary_op(self) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.text in _BINARY:
            return token.text
        if token.kind == "name" and token.text in ("and", "or", "in"):
            return token.text
        if token.kind == "name" and token.text == "not" and self.tokens[self.i + 1].text == "in":
            return "not in"
        return None

    def expression(self, min_prec: int = 1) -> Node:
        left = self.unary()
        while (op := self.binary_op()) is not None and _BINARY[op] >= min_prec:
            self.i += 2 if op == "not in" else 1
            right = self.expression(_BINARY[op] + 1)
            left = ("bin", op, left, right)
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "name" and token.text == "not":
            self.take()
            return ("not", self.expression(3))
        if token.text == "-" and token.kind == "op":
            self.take()
            return ("neg", self.unary())
        return self.postfix(self.atom())

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("lit", Decimal(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return ("lit", re.sub(r"\\(.)", r"\1", token.text[1:-1]))
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in ("true", "false"):
                return ("lit", lowered == "true")
            if lowered in ("null", "none"):
                return ("lit", None)
            if self.peek().text == "(":
                if token.text not in FUNCTIONS:
                    raise ExpressionError(f"unknown function {token.text!r} in {self.source!r}")
                self.take()
                args: list[Node] = []
                while self.peek().text != ")":
                    args.append(self.expression())
                    if self.peek().text == ",":
                        self.take()
                    elif self.peek().text != ")":
                        raise ExpressionError(f"expected ',' or ')' in {self.source!r}")
                self.take()
                return ("call", token.text, tuple(args))
            return ("name", token.text)
        if token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.text == "[":
            items: list[Node] = []
            while self.peek().text != "]":
                items.append(self.expression())
                if self.peek().text == ",":
                    self.take()
            self.take()
            return ("list", tuple(items))
        found = token.text or "the end"
        raise ExpressionError(f"unexpected {found!r} at {token.pos} in {self.source!r}")

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token.text == "." and token.kind == "op":
                self.take()
                name = self.take()
                if name.kind not in ("name", "number"):
                    raise ExpressionError(f"expected a name after '.' in {self.source!r}")
                node = ("get", node, ("lit", name.text))
            elif token.text == "[":
                self.take()
                index = self.expression()
                self.expect("]")
                node = ("get", node, index)
            else:
                return node


@lru_cache(maxsize=2048)
def parse(source: str) -> Node:
    """Parse an expression; raises ExpressionError with the position of the problem."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("an expression cannot be empty")
    parser = _Parser(source)
    node = parser.expression()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise ExpressionError(f"unexpected {token.text!r} at {token.pos} in {source!r}")
    return node


def names(source: str) -> set[str]:
    """Dotted root paths used by an expression, e.g. {'slots.amount', 'conversation.user_id'}."""
    found: set[str] = set()

    def walk(node: Node) -> Iterator[None]:
        kind = node[0]
        if kind == "get" and node[2][0] == "lit":
            base = node[1]
            if base[0] == "name":
                found.add(f"{base[1]}.{node[2][1]}")
                return
        if kind == "name":
            found.add(node[1])
            return
        for part in node[1:]:
            if isinstance(part, tuple) and part and isinstance(part[0], str):
                yield from walk(part)
            elif isinstance(part, tuple):
                for item in part:
                    if isinstance(item, tuple):
                        yield from walk(item)

    for _ in walk(parse(source)):
        pass
    return found


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``source`` against ``env``; numbers come back as int or float."""
    return _plain(_eval(parse(source), env))


def truthy(source: str, env: Mapping[str, Any]) -> bool:
    """Evaluate a condition."""
    return bool(evaluate(source, env))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _num(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return Decimal(str(value["amount"]))
    return value


def _get(base: Any, key: Any) -> Any:
    if base is None:
        return None
    if isinstance(base, Mapping):
        return base.get(key if not isinstance(key, Decimal) else int(key))
    if isinstance(base, list | tuple):
        try:
            return base[int(key)]
        except (ValueError, IndexError, TypeError):
            return None
    return None


def _eval(node: Node, env: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        return env.get(node[1])
    if kind == "get":
        return _get(_eval(node[1], env), _eval(node[2], env))
    if kind == "list":
        return [_eval(item, env) for item in node[1]]
    if kind == "not":
        return not _eval(node[1], env)
    if kind == "neg":
        return -_num(_eval(node[1], env))
    if kind == "call":
        args = [_plain(_eval(arg, env)) for arg in node[2]]
        try:
            return FUNCTIONS[node[1]](*args)
        except (TypeError, ValueError, AttributeError) as error:
            raise ExpressionError(f"{node[1]}() failed: {error}") from None
    op, left_node, right_node = node[1], node[2], node[3]
    if op == "and":
        left = _eval(left_node, env)
        return _eval(right_node, env) if left else left
    if op == "or":
        left = _eval(left_node, env)
        return left if left else _eval(right_node, env)
    left, right = _eval(left_node, env), _eval(right_node, env)
    if op in ("in", "not in"):
        inside = right is not None and _plain(left) in [_plain(x) for x in right]
        return inside if op == "in" else not inside
    left, right = _num(left), _num(right)
    try:
        return _OPS[op](left, right)
    except (TypeError, ArithmeticError):
        if op in ("==", "!="):
            return (left == right) == (op == "==")
        if left is None or right is None:
            return None if op in "+-*/%" else False
        raise ExpressionError(f"cannot apply {op!r} to {_plain(left)!r} and {_plain(right)!r}") from None


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda x: 0 if x is None else len(x),
    "lower": lambda x: "" if x is None else str(x).lower(),
    "upper": lambda x: "" if x is None else str(x).upper(),
    "abs": lambda x: abs(_num(x)),
    "round": lambda x, n=2: round(float(_num(x)), int(n)),
    "min": lambda *xs: min(xs[0] if len(xs) == 1 else xs),
    "max": lambda *xs: max(xs[0] if len(xs) == 1 else xs),
    "sum": lambda xs: sum((_num(x) for x in xs or []), Decimal(0)),
    "number": lambda x: _num(x),
    "text": lambda x: "" if x is None else str(x),
    "today": lambda: dt.date.today().isoformat(),
    "days_between": lambda a, b: (_date(b) - _date(a)).days,
    "any_of": lambda xs, key, value: any(isinstance(x, Mapping) and x.get(key) == value for x in xs or []),
    "pluck": lambda xs, key: [x.get(key) for x in xs or [] if isinstance(x, Mapping)],
    "find": lambda xs, key, value: next(
        (x for x in xs or [] if isinstance(x, Mapping) and x.get(key) == value), None
    ),
    "concat": lambda *parts: "".join("" if p is None else str(p) for p in parts),
    "put": lambda xs, index, value: _put(xs, index, value),
    "compact": lambda xs: [x for x in xs or [] if x is not None],
}


def _put(xs: Any, index: Any, value: Any) -> list[Any]:
    """A copy of the list ``xs`` with ``value`` at ``index`` (grown with nulls as needed): a loop
    that is gone through again after a correction replaces its entry instead of adding one."""
    out = list(xs or [])
    position = int(_num(index))
    if position < 0:
        raise ExpressionError(f"put: index {position} is negative")
    out.extend([None] * (position + 1 - len(out)))
    out[position] = value
    return out
