"""The longest functions in src/dspex_gql at one or more commits (top 10, with ties), by lines
from the `def` line to the last line; methods and nested functions are listed on their own (and
also counted in their parent).

    python scripts/longest_functions.py 4bc8e8e HEAD
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

PACKAGE = "src/dspex_gql"


@dataclass(frozen=True)
class Function:
    lines: int
    name: str
    line: int


def git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], check=True, capture_output=True, text=True).stdout


def files_at(commit: str) -> list[str]:
    listed = git("ls-tree", "-r", "--name-only", commit, PACKAGE).splitlines()
    return [path for path in listed if path.endswith(".py")]


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            yield name, (node.end_lineno or node.lineno) - node.lineno + 1, node.lineno
            yield from functions(node, name + ".<locals>.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, prefix + node.name + ".")


def longest(commit: str, top: int = 10) -> tuple[list[Function], int]:
    found: list[Function] = []
    for path in files_at(commit):
        tree = ast.parse(git("show", f"{commit}:{path}"))
        short = path.removeprefix(PACKAGE + "/")
        found += [Function(n, f"{short}:{name}", line) for name, n, line in functions(tree)]
    found.sort(key=lambda function: (-function.lines, function.name))
    cut = found[top - 1].lines  # the top `top`, and whatever ties with the last of them
    return [function for function in found if function.lines >= cut], len(found)


def main() -> None:
    for commit in sys.argv[1:] or ["HEAD"]:
        rows, total = longest(commit)
        print(f"\n{commit} ({total} functions)")
        for rank, function in enumerate(rows, 1):
            print(f"{rank:2}. {function.lines:4}  {function.name}  (line {function.line})")


if __name__ == "__main__":
    main()
