"""Arithmetic tools for the `agent` graph."""

from __future__ import annotations

from langchain_core.tools import BaseTool, tool


def _tidy(value: float) -> float:
    """Return integral results as `int` so that 2 * 3 reads as 6, not 6.0."""
    return int(value) if float(value).is_integer() else value


@tool
def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return _tidy(a + b)


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: The first factor.
        b: The second factor.
    """
    return _tidy(a * b)


@tool
def divide(a: float, b: float) -> float:
    """Divide a by b.

    Args:
        a: The dividend.
        b: The divisor; must not be zero.
    """
    if b == 0:
        raise ZeroDivisionError(f"cannot divide {_tidy(a)} by zero")
    return _tidy(a / b)


TOOLS: list[BaseTool] = [add, multiply, divide]


def tool_error_message(error: ArithmeticError) -> str:
    """Turn an arithmetic failure into the ToolMessage the model sees instead of a crash."""
    return f"Error: {error}"
