#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Lints the man pages under man/ and compile-checks their example programs.

  man_lint.py --include DIR --out DIR [PAGE...]

Runs where mandoc (or, failing that, groff) and gcc are: in the build
root, through tools/man-lint, which is what `make test` and
`make man-lint` call. Every page of man/man2 and man/man7 is checked
unless pages are named (libsyslet's section 3 pages are checked by
lib/syslet/tests/host-check.sh). One result per check, in libtest's format ("test NAME ... ok"),
which tools/report.py counts:

  lint:PAGE     `mandoc -Tlint` (every message fails, style ones too), or
                `groff -ww -z -man` (any warning fails) where mandoc is
                missing; a page that is only a `.so` link must name a page
                that exists
  example:PAGE  each program between `.\\" SRC BEGIN (NAME.c)` and
                `.\\" SRC END` (the man-pages project's markers) is
                unescaped and built with gcc -O2 -Wall -Wextra -Werror against
                the kernel's sanitized uapi headers (--include); a page
                with an EXAMPLES section must have at least one

Exit status 1 if any check failed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

MAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "man")
# The sections checked by default: the system calls and the overviews.
SECTIONS = ["man2", "man7"]

# roff escapes a C program in an .EX block may use, and what they stand for.
ESCAPES = {
    r"\e": "\\", r"\\": "\\", r"\-": "-", r"\&": "", r"\(aq": "'",
    r"\[aq]": "'", r"\(dq": '"', r"\[dq]": '"', r"\(ti": "~",
    r"\[ti]": "~", r"\(ha": "^", r"\[ha]": "^", r"\(rs": "\\",
    r"\[rs]": "\\", r"\(ga": "`", r"\[ga]": "`",
}
# mandoc messages that are the man-pages project's own style, not faults:
# its titles are the function names, in lower case, as in `.TH open 2`
# (the man-pages project's lint drops the same message).
MANDOC_ACCEPTED = [re.compile(r"STYLE: lower case character in document title: ")]
_escape_re = re.compile(r"\\(?:\([a-z]{2}|\[[a-z]+\]|.)")
_src_begin_re = re.compile(r'^\.\\" SRC BEGIN \(([A-Za-z0-9_.-]+\.c)\)$')


class PageError(Exception):
    pass


def pages(root, named):
    """[(man root, manN/PAGE)]: the named pages, each under the tree two
    levels up (where its `.so` lines are resolved), or every page of root."""
    if named:
        return [(os.path.dirname(os.path.dirname(os.path.abspath(p))),
                 os.path.join(os.path.basename(os.path.dirname(os.path.abspath(p))),
                              os.path.basename(p))) for p in named]
    found = []
    for sec in SECTIONS:
        d = os.path.join(root, sec)
        if os.path.isdir(d):
            found += [(root, os.path.join(sec, f)) for f in sorted(os.listdir(d))
                      if re.search(r"\.[0-9]$", f)]
    return found


def unescape(line, where):
    def sub(m):
        esc = m.group(0)
        if esc not in ESCAPES:
            raise PageError(f"{where}: escape {esc} in a program is not understood")
        return ESCAPES[esc]
    return _escape_re.sub(sub, line)


def programs(path):
    """[(name, source)] of the page's SRC BEGIN/END blocks."""
    out, name, body, in_ex = [], None, [], False
    with open(path) as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        where = f"{os.path.basename(path)}:{n}"
        m = _src_begin_re.match(line)
        if m:
            if name:
                raise PageError(f"{where}: SRC BEGIN inside another program")
            name, body = m.group(1), []
            continue
        if name is None:
            continue
        if line == '.\\" SRC END':
            if in_ex:
                raise PageError(f"{where}: SRC END before .EE")
            out.append((name, "\n".join(body) + "\n"))
            name = None
        elif line == ".EX":
            in_ex = True
        elif line == ".EE":
            in_ex = False
        elif line.startswith('.\\"'):
            continue
        elif line.startswith((".", "'")):
            raise PageError(f"{where}: request {line.split()[0]} inside a program")
        elif in_ex:
            body.append(unescape(line, where))
        elif line:
            raise PageError(f"{where}: text outside .EX/.EE inside a program")
    if name:
        raise PageError(f"{os.path.basename(path)}: SRC BEGIN ({name}) without SRC END")
    return out


def lint(root, page, tool):
    """Problems found in the page (empty list: clean)."""
    path = os.path.join(root, page)
    with open(path) as f:
        text = f.read()
    lines = [l for l in text.split("\n") if l and not l.startswith('.\\"')]
    if len(lines) == 1 and lines[0].startswith(".so "):
        target = lines[0][4:].strip()
        if not os.path.isfile(os.path.join(root, target)):
            return [f"{page}: .so names {target}, which does not exist"]
        return []
    if tool == "mandoc":
        # -Tlint reports every level down to style; -W style makes the
        # exit status count them too.
        cmd = ["mandoc", "-Tlint", "-W", "style", page]
    else:
        cmd = ["groff", "-ww", "-z", "-man", "-t", page]
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    msgs = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    if tool == "mandoc":
        msgs = [l for l in msgs if not any(a.search(l) for a in MANDOC_ACCEPTED)]
        # 1: style or warning messages only (the accepted ones, if none is left)
        if r.returncode not in (0, 1) and not msgs:
            msgs = [f"mandoc exited {r.returncode}"]
    elif r.returncode != 0 and not msgs:
        msgs = [f"{cmd[0]} exited {r.returncode}"]
    return msgs


def wants_example(root, page):
    """Whether the page has an EXAMPLES section or a program."""
    try:
        with open(os.path.join(root, page)) as f:
            return any(l.strip() == ".SH EXAMPLES" or _src_begin_re.match(l.rstrip("\n"))
                       for l in f)
    except OSError:
        return False


def compile_examples(root, page, include, out):
    """Problems building the page's programs (empty list: all built)."""
    progs = programs(os.path.join(root, page))
    problems = []
    if not progs:
        problems.append(f"{page}: EXAMPLES has no program between SRC BEGIN and SRC END")
    for name, src in progs:
        base = page.replace("/", "_") + "_" + name
        c = os.path.join(out, base)
        with open(c, "w") as f:
            f.write(src)
        cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-I", include,
               "-o", c[:-2], c, "-lpthread"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"{name}: {' '.join(cmd)}")
            problems += (r.stdout + r.stderr).splitlines()
    return problems


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--include", required=True, help="sanitized uapi headers")
    ap.add_argument("--out", required=True, help="where the examples are built")
    ap.add_argument("--man", default=MAN, help="the man page tree")
    ap.add_argument("pages", nargs="*")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.man)
    tool = "mandoc" if shutil.which("mandoc") else "groff" if shutil.which("groff") else None
    todo = pages(root, args.pages)
    checks = [("lint", r, p) for r, p in todo] + \
        [("example", r, p) for r, p in todo if wants_example(r, p)]
    os.makedirs(args.out, exist_ok=True)
    print(f"running {len(checks)} tests")
    failed = 0
    for kind, root, page in checks:
        try:
            if kind == "example":
                problems = compile_examples(root, page, args.include, args.out)
            elif tool is None:
                problems = ["neither mandoc nor groff is installed (tools/root-packages.txt)"]
            else:
                problems = lint(root, page, tool)
        except (PageError, OSError) as e:
            problems = [str(e)]
        for p in problems:
            print(f"  {p}")
        failed += bool(problems)
        print(f"test {kind}:{page} ... {'FAILED' if problems else 'ok'}")
    print(f"man-lint: {len(todo)} pages ({tool}), {len(checks)} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
