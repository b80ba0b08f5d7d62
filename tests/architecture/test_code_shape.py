"""The shape of the program code: no function over 120 lines, no block of more than 10 lines repeated.

Program code is components/, stacks/, triton_platform/, policy/, scripts/ and __main__.py (tests,
bench/ and samples/ are not). Duplicates are found on *normalised* lines: a line's tokens joined by
one space, so indentation, spacing and comments do not matter; blank lines, comment-only lines and
import statements are dropped (imports repeat by nature). A window of 11 consecutive normalised
lines that occurs twice, in one file or in two, is a repeated block; windows made only of trivial
lines (brackets, ``else:``, ``return``...) are ignored.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import defaultdict
from pathlib import Path

from tests.architecture.program import functions, parse, program_files, rel

MAX_FUNCTION_LINES = 120
MAX_REPEATED_LINES = 10
WINDOW = MAX_REPEATED_LINES + 1
_SKIPPED_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
# Tokens that carry no logic of their own: a line made only of these is trivial.
_TRIVIAL = {"(", ")", "[", "]", "{", "}", ",", ":", "else", "try", "finally", "pass", "return", "continue", "break"}


def long_functions_in(path: Path) -> list[str]:
    """``file:line name (N lines)`` for every function or method over the limit, nested ones too."""
    return [
        f"{rel(path)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
        for fn in functions(parse(path))
        if fn.end_lineno is not None and fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
    ]


def normalised_lines(source: str) -> list[tuple[int, str]]:
    """(line number, the line's tokens joined by one space) for each line that is not blank,
    comment-only or part of an import statement; a token spanning lines counts on its first."""
    imports: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom) and node.end_lineno is not None:
            imports.update(range(node.lineno, node.end_lineno + 1))
    lines: dict[int, list[str]] = defaultdict(list)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _SKIPPED_TOKENS and tok.start[0] not in imports:
            lines[tok.start[0]].append(tok.string)
    return [(number, " ".join(tokens)) for number, tokens in sorted(lines.items())]


def _trivial(line: str) -> bool:
    return all(token in _TRIVIAL for token in line.split())


def repeated_blocks(files: dict[str, str]) -> list[str]:
    """One line per repeated block: ``a.py:12 = b.py:40`` (first lines of each occurrence).

    Overlapping windows of one longer block are reported once, at the block's first line.
    """
    where: dict[tuple[str, ...], list[tuple[str, int, int]]] = defaultdict(list)
    normalised = {name: normalised_lines(source) for name, source in files.items()}
    for name, lines in normalised.items():
        for i in range(len(lines) - WINDOW + 1):
            window = tuple(text for _, text in lines[i : i + WINDOW])
            if not all(_trivial(text) for text in window):
                where[window].append((name, i, lines[i][0]))
    repeated = {window: places for window, places in where.items() if len(places) > 1}
    # A window continues a block when every one of its occurrences follows an occurrence of a
    # repeated window one line earlier in the same file.
    starts = {(name, i) for places in repeated.values() for name, i, _ in places}
    report = []
    for places in repeated.values():
        if all((name, i - 1) in starts for name, i, _ in places):
            continue
        report.append(" = ".join(f"{name}:{line}" for name, _, line in places))
    return sorted(set(report))


def test_no_function_over_120_lines() -> None:
    found = [problem for path in program_files() for problem in long_functions_in(path)]
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)


def test_no_block_of_more_than_10_lines_repeated() -> None:
    files = {rel(path): path.read_text(encoding="utf-8") for path in program_files()}
    found = repeated_blocks(files)
    assert not found, f"blocks of more than {MAX_REPEATED_LINES} lines repeated:\n" + "\n".join(found)


# --- the checks check what they claim ------------------------------------------------------------------


def test_long_function_is_found(tmp_path: Path) -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"class A:\n    def ok(self):\n        pass\n\n    def f(self):\n{body}")
    assert [problem.split(" ", 1)[1] for problem in long_functions_in(path)] == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]


def test_normalised_lines_drop_comments_blanks_and_imports() -> None:
    source = "import os\nfrom a import (\n    b,\n)\n\n# note\nx  =  f( 1 )  # why\ns = '''a\nb'''\n"
    assert normalised_lines(source) == [(7, "x = f ( 1 )"), (8, "s = '''a\nb'''")]


def _nested(name: str, value: int) -> str:
    """``name = (((...value...)))``: 12 lines of brackets only around one that differs."""
    return f"{name} = (\n" + "(\n" * 12 + f"{value}\n" + ")\n" * 13


def test_repeated_block_is_found_once_and_short_or_trivial_ones_are_not() -> None:
    block = "".join(f"    total += item_{i}(value)\n" for i in range(WINDOW + 2))
    short = "".join(f"    other += item_{i}(value)\n" for i in range(MAX_REPEATED_LINES))
    files = {
        "a.py": f"def f():\n    # differs\n{block}{short}{_nested('v', 1)}",
        "b.py": f"x = 1\n\ndef g():\n{block}    return 0\n{short}{_nested('w', 2)}",
    }
    assert repeated_blocks(files) == ["a.py:3 = b.py:4"]
