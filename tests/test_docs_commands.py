"""The commands the README and the guides of docs/ show still exist: a renamed make target, subcommand or flag,
a moved file or a removed API route fails here, naming the document and line.

Read are the fenced shell blocks (```sh, ```bash, ```shell, ```console or unlabelled) and, in the prose, inline code
that is a whole command (`make bench-live`, `python -m web backup DIR`, `footprint verify report …`), a path of the
repository (`deploy/nginx.conf`) or a route (`POST /api/v1/exams`). The parsers are read at test time — the
argparse parser of `python -m web` and the click groups of `footprint` and `proctor` — never a list kept here.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from starlette.routing import Mount

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console"}
REPO_DIRS = ("deploy", "benchmarks", "web", "footprint", "proctor", "tests", "docs", "models")
ROUTE_PREFIXES = ("/api/", "/xapi", "/ledger", "/live", "/lti", "/desk", "/help", "/healthz", "/readyz", "/metrics")
SEPARATORS = {"|", "||", "&&", ";", "&", "(", ")", "{", "}", "then", "do", "else", "!"}
PREFIX_WORDS = {"sudo", "env", "exec", "time", "nohup", "command", "until", "while", "if"}


@dataclass(frozen=True)
class Place:
    """Where a command was read: the document and line, for the failure message."""

    document: str
    line: int

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    place: Place


# --- reading the documents -----------------------------------------------------------------------------------


def tokens(line: str) -> list[str]:
    """Shell words of one line (quotes removed, `$(…)`, pipes and `&&` as separate tokens, `#` comments dropped)."""
    words: list[str] = []
    current = ""
    quote = ""
    started = False
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = ""
            else:
                current += char
        elif char in "'\"":
            quote, started = char, True
        elif char.isspace():
            if started:
                words.append(current)
            current, started = "", False
        elif char == "#" and not started:
            break
        elif char == "$" and line[index + 1 : index + 2] == "(":
            if started:
                words.append(current)
            words.append("(")
            current, started = "", False
            index += 1
        elif char == "|" and started and line[index + 1 : index + 2] not in ("", " ", "|"):
            current += char  # `interim|final|FILE` in a synopsis: a pipe of a shell line has spaces around it
        elif char in ";|&()":
            if started:
                words.append(current)
            pair = line[index : index + 2]
            words.append(pair if pair in ("||", "&&") else char)
            index += len(pair) - 1 if pair in ("||", "&&") else 0
            current, started = "", False
        else:
            current += char
            started = True
        index += 1
    if started:
        words.append(current)
    return words


def segments(words: list[str]) -> Iterator[list[str]]:
    """The simple commands of a line's words, split at pipes, `&&`, `;`, subshells."""
    part: list[str] = []
    for word in words:
        if word in SEPARATORS:
            if part:
                yield part
            part = []
        else:
            part.append(word)
    if part:
        yield part


def fenced_blocks(text: str) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """(info string, numbered lines) of each fenced block."""
    fence = ""
    info = ""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not fence:
            match = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if match:
                fence, info, lines = match.group(1), match.group(2).lower(), []
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            yield info, lines
            fence = ""
        else:
            lines.append((number, line))


def block_commands(info: str, lines: list[tuple[int, str]], document: str) -> Iterator[Command]:
    """The commands of a shell block: continuations joined, heredoc bodies and console output skipped."""
    pending = ""
    start = 0
    heredoc = ""
    for number, raw in lines:
        if heredoc:
            if raw.strip() == heredoc:
                heredoc = ""
            continue
        line = raw.strip()
        if info == "console" and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        words = tokens(line)
        for index, word in enumerate(words):
            if word.startswith("<<") and not word.startswith("<<<"):
                heredoc = (word[2:] or (words[index + 1] if index + 1 < len(words) else "")).lstrip("-")
        for part in segments(words):
            yield Command(tuple(part), Place(document, start))


def inline_spans(text: str) -> Iterator[tuple[int, str]]:
    """Inline code of the prose (outside fenced blocks), with its line."""
    fence = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if re.match(r"^(`{3,}|~{3,})", stripped):
            marker = stripped[:3]
            fence = "" if fence == marker else (fence or marker)
            continue
        if fence or line.startswith("    "):
            continue
        for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", line):
            yield number, match.group(1).strip()


def documents() -> Iterator[tuple[str, str]]:
    for path in DOCUMENTS:
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def shell_commands() -> list[Command]:
    found: list[Command] = []
    for name, text in documents():
        for info, lines in fenced_blocks(text):
            if info in SHELL_BLOCKS:
                found.extend(block_commands(info, lines, name))
    return found


def prose_commands() -> list[Command]:
    """Inline code that is a whole command of ours: `make X`, `python -m web …`, `footprint …`, `proctor …`."""
    found: list[Command] = []
    pattern = re.compile(
        r"^(make [a-z]|(\S*/)?python(3[.\d]*)? -m (web|footprint|proctor)\b|(\S*/)?(footprint|proctor) [a-z])"
    )
    for name, text in documents():
        for number, span in inline_spans(text):
            if pattern.match(span) and "…" not in span.split()[1:2]:
                for part in segments(tokens(span)):
                    found.append(Command(tuple(part), Place(name, number)))
    return found


# --- what exists -------------------------------------------------------------------------------------------------


def make_targets() -> set[str]:
    """The Makefile's targets, its variables expanded (`$(STAMP)` is `.venv/.installed`)."""
    text = (ROOT / "Makefile").read_text()
    variables: dict[str, str] = {}
    for match in re.finditer(r"^(?:export\s+)?([A-Za-z_]+)\s*[:?]?=\s*(.*)$", text, re.M):
        variables.setdefault(match.group(1), match.group(2).strip())

    def expand(value: str) -> str:
        for _ in range(5):
            value = re.sub(r"\$\(([A-Za-z_]+)\)", lambda m: variables.get(m.group(1), ""), value)
        return value

    targets: set[str] = set()
    for match in re.finditer(r"^([^\s#:=][^:=]*?)\s*:(?!=)", text, re.M):
        targets.update(expand(match.group(1)).split())
    phony = re.search(r"^\.PHONY:(.*)$", text, re.M)
    if phony:
        targets.update(phony.group(1).split())
    return targets


class Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def web_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser `python -m web` builds, caught as it is about to parse (nothing runs)."""
    from web import __main__ as web_main

    def capture(self: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> argparse.Namespace:
        raise Captured(self)

    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", capture)
        try:
            web_main.main([])
        except Captured as caught:
            return caught.parser
    raise AssertionError("python -m web built no parser")


def argparse_problems(parser: argparse.ArgumentParser, args: list[str], shown: str) -> list[str]:
    """What of `args` the parser does not know: a subcommand at a level with subcommands, or a flag."""
    problems: list[str] = []
    rest = list(args)
    while rest:
        word = rest.pop(0).lstrip("[")
        if word.startswith("--"):
            flag = clean_flag(word)
            action = parser._option_string_actions.get(flag)
            if action is None:
                problems.append(f"{shown}: no option {flag}")
            elif action.nargs != 0 and "=" not in word and rest:
                rest.pop(0)
            continue
        if word.startswith("-"):
            continue
        choices = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if choices:
            sub = choices[0].choices.get(word)
            if sub is None:
                problems.append(f"{shown}: no subcommand {word!r} (there are: {', '.join(choices[0].choices)})")
                return problems
            parser, shown = sub, f"{shown} {word}"
    return problems


def click_problems(group: click.Command, args: list[str], shown: str) -> list[str]:
    """Likewise for a click group: each subcommand exists, each flag is an option of the command it follows."""
    problems: list[str] = []
    command = group
    rest = list(args)
    while rest:
        word = rest.pop(0).lstrip("[")
        if word.startswith("--"):
            flag = clean_flag(word)
            options = {opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)}
            if flag == "--help":
                continue
            param = options.get(flag)
            if param is None:
                problems.append(f"{shown}: no option {flag}")
            elif isinstance(param, click.Option) and not param.is_flag and not param.count and "=" not in word and rest:
                rest.pop(0)
            continue
        if word.startswith("-"):
            continue
        if isinstance(command, click.Group):
            sub = command.commands.get(word)
            if sub is None:
                problems.append(f"{shown}: no subcommand {word!r} (there are: {', '.join(command.commands)})")
                return problems
            command, shown = sub, f"{shown} {word}"
    return problems


def clean_flag(word: str) -> str:
    return word.strip("[]…").split("=", 1)[0].rstrip(",")


def app_routes() -> list[tuple[set[str], str, bool]]:
    """(methods, path template, is a mount) of every route of the app (built without starting it)."""
    from fastapi.routing import iter_route_contexts

    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(data_dir=ROOT / ".cache" / "docs-commands-unused"))
    found: list[tuple[set[str], str, bool]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        methods = set(context.methods or {"GET"}) | {"HEAD"}
        found.append((methods, context.path or "", isinstance(route, Mount)))
    return found


def route_exists(routes: list[tuple[set[str], str, bool]], method: str, path: str) -> bool:
    """A documented path (`/api/v1/sessions/$S/events`, `/api/v1/exams/{id}`) against the app's templates."""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip("/") or "/"
    asked = path.split("/")
    for methods, template, mount in routes:
        if method not in methods:
            continue
        if mount:
            if path == template or path.startswith(template + "/"):
                return True
            continue
        if "{" in template and template.split("{", 1)[1].split("}", 1)[0].endswith(":path"):
            head = template.split("{", 1)[0]
            if path.startswith(head) and len(path) > len(head):
                return True
            continue
        parts = template.split("/")
        if len(parts) == len(asked) and all(
            t == a or t.startswith("{") or a.startswith(("{", "$")) or "|" in a
            for t, a in zip(parts, asked, strict=True)
        ):
            return True
    return False


def repo_path_problem(word: str) -> str | None:
    """A word that is a path of the repository (`deploy/nginx.conf`) and does not exist."""
    word = word.strip("(),;:")
    if not re.match(rf"^({'|'.join(REPO_DIRS)})/[\w./-]*$", word) or "..." in word:
        return None
    return None if (ROOT / word).exists() else f"no such file {word}"


def module_exists(module: str) -> bool:
    base = ROOT / Path(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()


# --- the checks ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known(request: pytest.FixtureRequest) -> dict[str, Any]:
    from footprint.cli import cli as footprint_cli
    from proctor.cli import cli as proctor_cli

    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    return {
        "make": make_targets(),
        "web": web_parser(monkeypatch),
        "footprint": footprint_cli,
        "proctor": proctor_cli,
        "routes": app_routes(),
    }


def strip_prefix(words: list[str]) -> list[str]:
    """The command itself: variable assignments, `sudo -u USER`, `env`, `taskset -c 0`, `timeout N` taken off."""
    while words:
        first = words[0]
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", first):
            words = words[1:]
        elif first in PREFIX_WORDS:
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in ("-u", "-g") else words[1:]
        elif first in ("taskset", "timeout"):
            words = words[1:]
            while words and (words[0].startswith("-") or words[0][:1].isdigit()):
                words = words[1:]
        else:
            return words
    return words


def curl_problems(words: list[str], routes: list[tuple[set[str], str, bool]]) -> list[str]:
    method = "GET"
    for index, word in enumerate(words):
        if word in ("-X", "--request") and index + 1 < len(words):
            method = words[index + 1].upper()
            break
        if word in ("-d", "--data", "--data-binary", "--data-raw", "-F", "--form", "--json", "-T"):
            method = "POST" if method == "GET" else method
    problems = []
    for word in words:
        match = re.match(r"^(?:\$BASE|\$\{BASE\}|https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)(/\S*)$", word)
        if match and match.group(1).startswith(ROUTE_PREFIXES) and not route_exists(routes, method, match.group(1)):
            problems.append(f"no route {method} {match.group(1)}")
    return problems


def command_problems(command: Command, known: dict[str, Any], pasted: bool = False) -> list[str]:
    """What no longer exists of a command; `pasted` (a shell block): also what a new terminal would not find."""
    words = strip_prefix(list(command.words))
    if not words:
        return []
    first, rest = words[0], words[1:]
    name = first.rsplit("/", 1)[-1]
    problems = [problem for word in words if (problem := repo_path_problem(word))]
    ours = rest[:1] == ["-m"] and len(rest) > 1 and module_exists(rest[1])
    if pasted and (first in ("footprint", "proctor") or (first in ("python", "python3", "python3.11") and ours)):
        problems.append(f"{first} is not on a new terminal's PATH: write .venv/bin/{first.replace('3.11', '')}")
    if name == "make":
        problems += [
            f"no make target {word!r}"
            for word in rest
            if not word.startswith("-") and "=" not in word and word not in known["make"]
        ]
    elif re.match(r"^python(3(\.\d+)?)?$", name) and rest[:1] == ["-m"] and len(rest) > 1:
        module, args = rest[1], rest[2:]
        if module == "web":
            problems += argparse_problems(known["web"], args, "python -m web")
        elif module in ("footprint", "proctor"):
            problems += click_problems(known[module], args, module)
        elif not module_exists(module):
            problems.append(f"no module {module}")
    elif name in ("footprint", "proctor") and (first == name or first.endswith(f".venv/bin/{name}")):
        problems += click_problems(known[name], rest, name)
    elif name == "curl":
        problems += curl_problems(words, known["routes"])
    return problems


def test_the_documents_have_shell_blocks_to_check() -> None:
    """The reader finds the commands (a guard against a parser that silently reads nothing)."""
    commands = shell_commands()
    names = {c.words[0].rsplit("/", 1)[-1] for c in commands if c.words}
    assert {"make", "python", "curl", "footprint"} <= names, names
    assert len(commands) > 40


def test_documented_commands_exist(known: dict[str, Any]) -> None:
    problems = [
        f"{command.place}: {problem}   [{' '.join(command.words)}]"
        for command, pasted in [(c, True) for c in shell_commands()] + [(c, False) for c in prose_commands()]
        for problem in command_problems(command, known, pasted)
    ]
    assert not problems, "\n".join(problems)


def test_documented_paths_and_routes_exist(known: dict[str, Any]) -> None:
    """Paths of the repository and routes (`POST /api/v1/exams`) named in the prose's inline code."""
    problems: list[str] = []
    for name, text in documents():
        for number, span in inline_spans(text):
            if problem := repo_path_problem(span):
                problems.append(f"{name}:{number}: {problem}")
            for match in re.finditer(r"\b(GET|POST|PUT|PATCH|DELETE)\s+(/[^\s`]+)", span):
                path = match.group(2)
                if path.startswith(ROUTE_PREFIXES) and "…" not in path:
                    path = re.sub(r"\[.*$", "", path)
                    if not route_exists(known["routes"], match.group(1), path):
                        problems.append(f"{name}:{number}: no route {match.group(1)} {path}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("make run", []),
        ("make no-such-target", ["no make target 'no-such-target'"]),
        (".venv/bin/python -m web backup /tmp/b", []),
        (".venv/bin/python -m web bakup /tmp/b", ["no subcommand 'bakup'"]),
        (".venv/bin/python -m web keys rotate pkz_x --keep-old-for 24", []),
        (".venv/bin/python -m web keys rotate pkz_x --keep-old 24", ["no option --keep-old"]),
        (".venv/bin/footprint verify inclusion --statement s --proof p --checkpoint c --public-key k", []),
        (".venv/bin/footprint verify inclusion --statment s", ["no option --statment"]),
        (".venv/bin/proctor analyze x.mp4 --reference p.jpg --out r", []),
        (".venv/bin/proctor analyse x.mp4", ["no subcommand 'analyse'"]),
        (".venv/bin/proctor analyze REC --reference PHOTO [--policy interim|final|FILE] [--scan S:E …]", []),
        (".venv/bin/proctor scan RECORDING --out DIR [--min-cover DEG]", ["no option --min-cover"]),
        (".venv/bin/python -m web keys issue College lms --scopes xapi | tee key.txt", []),
        ('curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/sessions/$S/events"', []),
        ('curl -sf -d "{}" "$BASE/api/v1/sessions/$S/events"', ["no route POST /api/v1/sessions/$S/events"]),
        ("sudo install -m 0644 deploy/nginx.conf /etc/nginx/conf.d/proctor.conf", []),
        ("sudo install -m 0644 deploy/nginx.cfg /etc/nginx/conf.d/proctor.conf", ["no such file deploy/nginx.cfg"]),
        ("taskset -c 0 .venv/bin/python -m benchmarks.roomscan", []),
        (".venv/bin/python -m benchmarks.nothing", ["no module benchmarks.nothing"]),
        ("python -m web backup /tmp/b", ["not on a new terminal's PATH"]),
        ("footprint audit sqlite:///data/proctor.db", ["not on a new terminal's PATH"]),
        ("python3 -c 'print(1)'", []),
    ],
)
def test_the_checker_catches_renames(known: dict[str, Any], line: str, expected: list[str]) -> None:
    problems = [
        problem
        for command in block_commands("sh", [(1, line)], "example")
        for problem in command_problems(command, known, pasted=True)
    ]
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert wanted in problem
