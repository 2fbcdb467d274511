"""The built-in ReAct tool: arithmetic on numbers, evaluated from the syntax tree, never `eval`."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

MAX_EXPRESSION_LENGTH = 200
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e100

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


class CalculatorError(ValueError):
    pass


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression with + - * / // % ** and parentheses, e.g. "(2 + 3) * 4".

    Returns the result as text, or a message starting with "error:" that says what is wrong.
    """
    try:
        return _format(evaluate(expression))
    except CalculatorError as error:
        return f"error: {error}"


def evaluate(expression: str) -> float:
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculatorError(f"expressions are at most {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise CalculatorError(f"not an arithmetic expression: {expression!r}") from None
    return _value(tree.body)


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise CalculatorError("only numbers and + - * / // % ** are allowed, not booleans")
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _apply(node.op, _value(node.left), _value(node.right))
    raise CalculatorError(f"only numbers and + - * / // % ** are allowed, not {_shown(node)}")


def _apply(op: ast.operator, left: float, right: float) -> float:
    if isinstance(op, ast.Pow) and abs(right) > MAX_EXPONENT:
        raise CalculatorError(f"exponents are at most {MAX_EXPONENT}")
    try:
        result = _BINARY[type(op)](left, right)
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except (OverflowError, ValueError) as error:
        raise CalculatorError(str(error)) from None
    if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
        raise CalculatorError("the result is too large or not a real number")
    return result


def _shown(node: ast.AST) -> str:
    return ast.unparse(node)[:40] if isinstance(node, ast.expr) else type(node).__name__


def _format(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value) if isinstance(value, float) else str(value)
