#!/usr/bin/env python3
"""Turns every ```cpp block of the given Markdown files into a C++ program, so that CI builds and
runs the code the docs show (tests/docs/CMakeLists.txt registers one test per block).

A block is a whole program unless an HTML comment right before it (blank lines between allowed)
says otherwise:

    <!-- doc-test: MODE [wrap]
    hidden code, put before the block (helpers the block calls)
    -->

MODE is `run` (the default: build and run it, it must exit 0), `compile` (build only: a daemon
that runs until stopped) or `skip REASON` (not built at all; say why). With `wrap` the block is a
fragment: its #include lines go first and the rest becomes the body of `int main()`.

Writes OUT_DIR/<file>_<n>.cpp and OUT_DIR/blocks.cmake, which lists them as
`doc_block(NAME SOURCE MODE FILE LINE)` calls. Exits 1 naming FILE:LINE for a malformed comment.
"""

import pathlib
import re
import sys

COMMENT = re.compile(r"<!--\s*doc-test:\s*(.*?)-->", re.S)


def blocks(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    pending = None  # (mode, wrap, prelude, line) from the comment before a block
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("<!-- doc-test:"):
            start = i
            text = line
            while "-->" not in text and i + 1 < len(lines):
                i += 1
                text += "\n" + lines[i]
            m = COMMENT.search(text)
            if not m:
                sys.exit(f"{path}:{start + 1}: a doc-test comment must end with -->")
            head, _, prelude = m.group(1).partition("\n")
            words = head.split()
            mode = words[0] if words else "run"
            if mode not in ("run", "compile", "skip"):
                sys.exit(f"{path}:{start + 1}: doc-test mode '{mode}' is not run, compile or skip")
            if mode == "skip" and len(words) < 2:
                sys.exit(f"{path}:{start + 1}: 'doc-test: skip' needs a reason")
            wrap = mode != "skip" and "wrap" in words[1:]
            pending = (mode, wrap, prelude, start + 1)
        elif line.strip() == "```cpp":
            start = i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            mode, wrap, prelude, _ = pending or ("run", False, "", start)
            yield start, mode, wrap, prelude, body
            pending = None
        elif line.strip() and pending and not line.lstrip().startswith("<!--"):
            sys.exit(f"{path}:{pending[3]}: a doc-test comment must come right before a ```cpp block")
        i += 1


def program(path, line, wrap, prelude, body):
    out = [f"// Generated from {path.name}:{line} by tests/docs/extract_blocks.py; edit the Markdown."]
    if wrap:
        includes = [l for l in body if l.startswith("#include")]
        rest = [l for l in body if not l.startswith("#include")]
        out += includes + [prelude, "int main() {"] + ["  " + l if l else l for l in rest] + ["}"]
    else:
        # The prelude goes after the block's own #includes, so it may use what they declare.
        includes = [l for l in body if l.startswith("#include")]
        rest = [l for l in body if not l.startswith("#include")]
        out += includes + [prelude] + rest
    return "\n".join(out) + "\n"


def main():
    out_dir = pathlib.Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    calls = []
    for name in sys.argv[2:]:
        path = pathlib.Path(name)
        for n, (line, mode, wrap, prelude, body) in enumerate(blocks(path), start=1):
            target = f"{path.stem}_{n}".replace("-", "_").replace(".", "_")
            if mode == "skip":
                continue
            source = out_dir / f"{target}.cpp"
            text = program(path, line, wrap, prelude, body)
            if not source.exists() or source.read_text(encoding="utf-8") != text:
                source.write_text(text, encoding="utf-8")
            calls.append(f'doc_block({target} "{source.as_posix()}" {mode} "{path.name}" {line})')
    (out_dir / "blocks.cmake").write_text("\n".join(calls) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
