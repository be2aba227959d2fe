#!/usr/bin/env python3
"""lint-layout.py [--root DIR] - file size, function size and layer checks (run by `make lint`).

Product code is every *.c / *.h under the product folders below (not tests/, tools/, build*/).
Rules:
  1. No product .c file is over MAX_FILE_LINES lines.
  2. No function is over MAX_FUNC_LINES lines, counted from the line holding the function's
     name through its closing brace, except those named in ALLOWED_LONG (at most
     MAX_ALLOWED of them, each with a one-line reason: only a data table or a plain switch
     dispatch qualifies).
  3. Layers, lowest first: common < storage-backend < transfer < classify < pipeline <
     milter, cli, portal (the top three are peers). A file includes headers of its own folder
     and of lower layers only. `#include "x.h"` is resolved the way the compiler does it (the
     including file's folder first, then the -I order of the Makefile); an include of a
     quoted header that is in no product folder is reported too.
Prints one line per violation (file:line: ...) and exits 1 with a count, or prints
"lint: ok (N files, M functions)". Python 3 standard library only.
"""
import argparse
import os
import re
import sys

MAX_FILE_LINES = 1000
MAX_FUNC_LINES = 80
MAX_ALLOWED = 5

# folder -> layer; higher layers may include lower ones, equal layers only their own folder
LAYERS = {
    "common": 0,
    "storage-backend": 1,
    "transfer": 2,
    "classify": 3,
    "pipeline": 4,
    "milter": 5,
    "cli": 5,
    "portal": 5,
    "upload": 5,
}
# search order for quoted includes after the including file's own folder (Makefile -I order)
SEARCH_ORDER = ["common", "storage-backend", "transfer", "classify", "pipeline", "portal",
                "cli", "milter", "upload"]

# Functions allowed over MAX_FUNC_LINES: "file:function": "one-line reason". Only a data
# table or a plain switch dispatch qualifies; at most MAX_ALLOWED entries.
ALLOWED_LONG = {
}

KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else", "case",
            "__attribute__", "__typeof__", "typeof", "_Alignof", "alignof", "defined"}
INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"')
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def blank_out(text):
    """Replace comments, string and char literals and preprocessor lines by spaces, keeping
    newlines, so that braces and parentheses can be counted and line numbers stay right."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":
            # preprocessor line with backslash continuations
            while i < n:
                if text[i] == "\n":
                    if i > 0 and text[i - 1] == "\\":
                        out.append("\n")
                        i += 1
                        continue
                    break
                out.append(" ")
                i += 1
            continue
        at_line_start = False
        if c == "\n":
            out.append(c)
            at_line_start = True
            i += 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + "".join(ch if ch == "\n" else " " for ch in text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(header):
    """Name of the function whose definition header (the text between the previous top-level
    ';' or '}' and the body's '{') this is, with its offset in header; None if it is not one."""
    h = header.rstrip()
    if not h.endswith(")"):
        return None
    # the last top-level parenthesis group is the parameter list
    depth = 0
    i = len(h) - 1
    while i >= 0:
        if h[i] == ")":
            depth += 1
        elif h[i] == "(":
            depth -= 1
            if depth == 0:
                break
        i -= 1
    if i < 0:
        return None
    # no top-level '=' (an initializer) before it
    depth = 0
    for ch in h[:i]:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "=" and depth == 0:
            return None
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", h[:i])
    if not m or m.group(1) in KEYWORDS:
        return None
    return m.group(1), m.start(1)


def functions(text):
    """Yield (name, first_line, last_line) for every function definition in C source text."""
    s = blank_out(text)
    depth = 0
    header_start = 0
    cur = None  # (name, first_line) of the function whose body is open
    line = 1
    for i, c in enumerate(s):
        if c == "\n":
            line += 1
        elif c == "{":
            if depth == 0:
                fn = function_name(s[header_start:i])
                if fn:
                    name, off = fn
                    first = line - s.count("\n", header_start + off, i)
                    cur = (name, first)
                else:
                    cur = None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if cur:
                    yield cur[0], cur[1], line
                cur = None
                header_start = i + 1
            elif depth < 0:
                depth = 0
                header_start = i + 1
        elif c == ";" and depth == 0:
            header_start = i + 1


def product_files(root):
    out = []
    for folder in LAYERS:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def resolve(root, own_folder, name):
    """Folder of the product header a quoted include names, or None."""
    base = os.path.basename(name)
    if "/" in name:
        # a path: relative to the including folder, then to the top
        for cand in (os.path.join(root, own_folder, name), os.path.join(root, name)):
            rel = os.path.relpath(os.path.normpath(cand), root)
            top = rel.split(os.sep)[0]
            if top in LAYERS and os.path.isfile(cand):
                return top
        return None
    for folder in [own_folder] + SEARCH_ORDER:
        if os.path.isfile(os.path.join(root, folder, base)):
            return folder
    return None


def main():
    ap = argparse.ArgumentParser(description="file size, function size and layer checks")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="tree to check (default: the repository this script is in)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if not any(os.path.isdir(os.path.join(root, f)) for f in LAYERS):
        print("lint-layout: %s has no product folder (%s)" % (root, ", ".join(LAYERS)),
              file=sys.stderr)
        return 2
    problems = []
    nfuncs = 0
    long_seen = set()

    if len(ALLOWED_LONG) > MAX_ALLOWED:
        problems.append("tools/lint-layout.py: ALLOWED_LONG has %d entries (max %d)"
                        % (len(ALLOWED_LONG), MAX_ALLOWED))
    files = product_files(root)
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        nlines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if rel.endswith(".c") and nlines > MAX_FILE_LINES:
            problems.append("%s:%d: file is %d lines (max %d)" % (rel, nlines, nlines, MAX_FILE_LINES))
        for name, first, last in functions(text):
            nfuncs += 1
            length = last - first + 1
            if length > MAX_FUNC_LINES:
                key = "%s:%s" % (rel, name)
                if key in ALLOWED_LONG:
                    long_seen.add(key)
                else:
                    problems.append("%s:%d: function %s is %d lines (max %d)"
                                    % (rel, first, name, length, MAX_FUNC_LINES))
        own = rel.split(os.sep)[0]
        for ln, src in enumerate(text.split("\n"), 1):
            m = INCLUDE_RE.match(src)
            if not m:
                continue
            inc = m.group(1)
            folder = resolve(root, own, inc)
            shown = "%s/%s" % (folder, os.path.basename(inc)) if folder else inc
            if folder is None:
                problems.append("%s:%d: includes %s, which is in no product folder" % (rel, ln, inc))
            elif folder == own:
                continue
            elif LAYERS[folder] > LAYERS[own]:
                problems.append("%s:%d: includes %s (layer %d above %d)"
                                % (rel, ln, shown, LAYERS[folder], LAYERS[own]))
            elif LAYERS[folder] == LAYERS[own]:
                problems.append("%s:%d: includes %s (layer %d, a peer of %s: peers must not include each other)"
                                % (rel, ln, shown, LAYERS[folder], own))
    for key in sorted(set(ALLOWED_LONG) - long_seen):
        problems.append("tools/lint-layout.py: allowlisted %s is gone or no longer over %d lines: "
                        "remove it from ALLOWED_LONG" % (key, MAX_FUNC_LINES))
    for p in problems:
        print(p)
    if problems:
        print("lint: %d violation%s (%d files, %d functions)"
              % (len(problems), "" if len(problems) == 1 else "s", len(files), nfuncs))
        return 1
    print("lint: ok (%d files, %d functions)" % (len(files), nfuncs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
