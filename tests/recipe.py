#!/usr/bin/env python3
"""The receiver recipes of v6fwd(8), as the tests run them.

    recipe.py MANPAGE NAME [FROM TO]...   prints the recipe NAME, each FROM
        replaced by TO (each FROM must occur in it)
    recipe.py MANPAGE --shown NAME...     checks that man(1) shows exactly
        that text, so that what a user copies from the terminal is what the
        tests ran: one line "shown NAME" or "NOT SHOWN NAME" each, and
        exit status 1 if any is not
    recipe.py MANPAGE --list              the names, one a line

A recipe is the literal block (.Bd -literal ... .Ed) that follows a line
'.\\" recipe: NAME' in the page. Its roff escapes are undone here; any
other escape or request inside it is an error rather than a guess, so that
the text the tests run can never silently differ from the text the page
shows.
"""
import os
import re
import subprocess
import sys

ESCAPES = {
    "\\e": "\\", "\\&": "", "\\-": "-", "\\(aq": "'", "\\(dq": '"',
    "\\(ga": "`", "\\(ti": "~", "\\(ha": "^", "\\(rs": "\\",
}
ESCAPE = re.compile(r"\\(\(..|.)")


def unescape(line, where):
    def one(m):
        if m.group(0) not in ESCAPES:
            sys.exit(f"{where}: escape {m.group(0)!r} not understood here")
        return ESCAPES[m.group(0)]
    return ESCAPE.sub(one, line)


def recipes(path):
    """All recipes of the page: {name: [lines]}."""
    found, name, body = {}, None, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        where = f"{path}:{n}"
        if body is not None:
            if line == ".Ed":
                found[name] = body
                name, body = None, None
            elif line.startswith('.\\"'):
                continue
            elif line.startswith((".", "'")):
                sys.exit(f"{where}: request {line!r} inside recipe {name}")
            else:
                body.append(unescape(line, where))
            continue
        m = re.fullmatch(r'\.\\" recipe: ([a-z0-9-]+)', line)
        if m:
            if name is not None or m.group(1) in found:
                sys.exit(f"{where}: recipe {m.group(1)} marked twice")
            name = m.group(1)
        elif name is not None:
            if not line.startswith(".Bd -literal"):
                sys.exit(f"{where}: recipe {name} is not followed by .Bd -literal")
            body = []
    if name is not None:
        sys.exit(f"{path}: recipe {name} never ends")
    return found


def rendered(path):
    """The page as man(1) shows it, wide enough that no line wraps."""
    env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="",
               LC_ALL="C.UTF-8")
    return subprocess.run(["man", "-l", path], env=env, capture_output=True,
                          text=True, check=True).stdout.split("\n")


def shown(out, lines):
    """Is LINES, indented alike, a run of lines of OUT?"""
    first = lines[0]
    for i, o in enumerate(out):
        if not o.endswith(first) or o[:-len(first)].strip():
            continue
        indent = o[:-len(first)]
        if [x.rstrip() for x in out[i:i + len(lines)]] == \
                [(indent + x).rstrip() if x else "" for x in lines]:
            return True
    return False


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, args = sys.argv[1], sys.argv[2:]
    found = recipes(path)
    if args == ["--list"]:
        print("\n".join(found))
        return
    if args[0] == "--shown":
        out, bad = rendered(path), 0
        for name in args[1:]:
            ok = name in found and shown(out, found[name])
            print("shown" if ok else "NOT SHOWN", name)
            bad += not ok
        sys.exit(1 if bad else 0)
    name, subs = args[0], args[1:]
    if name not in found or len(subs) % 2:
        sys.exit(f"{path}: no recipe {name}" if name not in found else __doc__)
    text = "\n".join(found[name]) + "\n"
    for old, new in zip(subs[::2], subs[1::2]):
        if old not in text:
            sys.exit(f"recipe {name}: {old!r} does not occur, cannot replace it")
        text = text.replace(old, new)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
