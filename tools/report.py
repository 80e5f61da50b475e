#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads what a test run left behind and says what passed.

  report.py scan FILE...     exit 1 if a kernel log shows an oops, BUG,
                             WARNING, lockdep, KASAN, hung-task or panic
                             report (the lines are printed)
  report.py summary RUN HOST VM_STATUS
                             count every test case of a `make test` run and
                             print the closing line "N passed, N failed,
                             N skipped"; exit 1 if anything failed

Formats read, each counted per test case, never per binary:
  KTAP from the console (KUnit; a suite that stops early counts its
  missing cases as failed), TAP from the kselftest-style C tests, and the
  libtest output of Rust tests and the `-v` output of Python unittest
  ("name ... ok").
"""
import os
import re
import sys

# What in a kernel log fails a run. Matched anywhere in a line.
KERNEL_PROBLEMS = [
    r"\bOops\b",
    r"\bBUG:",
    # Not fs/namespace.c's notice to a program that mounts with "mand"
    # (a pr_warn() framed like a splat; trinity does it).
    r"WARNING:(?! The mand mount option has been deprecated)",
    r"Kernel panic",
    # The kernel's own; not a user program's ("traps: prog[pid] general
    # protection fault ip:... in prog[...]", show_unhandled_signals).
    r"^(?!.*\btraps: ).*general protection fault",
    r"possible recursive locking",
    r"circular locking dependency",
    r"inconsistent lock state",
    r"suspicious RCU usage",
    r"KASAN:",
    r"UBSAN:",
    r"INFO: task .* blocked for more than",
    r"watchdog: BUG: soft lockup",
    r"rcu: INFO: rcu_.* detected stalls",
    r"Unable to handle kernel",
    r"rust_kernel: panicked",
    r"\bpanicked at\b",
]
_problem_re = re.compile("|".join(KERNEL_PROBLEMS))


def _problems(path):
    """(index, lines) of each kernel-problem line in the file at `path`,
    with all its lines; "| " lines are test programs' output echoed by
    run-guest-tests, not the kernel's."""
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        lines = [l.rstrip() for l in f]
    return [(n, lines) for n, line in enumerate(lines)
            if not line.startswith("| ") and _problem_re.search(line)]


def scan(paths):
    """Returns the kernel-problem lines found in the files at `paths`."""
    return [f"{os.path.basename(path)}:{n + 1}: {lines[n]}"
            for path in paths for n, lines in _problems(path)]


class Tally:
    """Per-test results: name -> 'pass' | 'fail' | 'skip', with reasons."""

    def __init__(self):
        self.results = []

    def add(self, name, outcome, why=""):
        self.results.append((name, outcome, why))

    def count(self, outcome):
        return sum(1 for _, o, _ in self.results if o == outcome)


_result_re = re.compile(r"^(\s*)(not ok|ok) (\d+)\s*(?:- )?(.*?)\s*(?:#\s*(SKIP|TODO)\b(.*))?$")
_subtest_re = re.compile(r"^(\s*)# Subtest: (\S+)")
_plan_re = re.compile(r"^(\s*)1\.\.(\d+)")


def parse_ktap(lines, prefix, tally):
    """Counts the leaf results of (possibly nested) KTAP/TAP output.

    A result line is a leaf unless the result just before it is more
    deeply indented (then it closes a subtest). A subtest whose plan
    promised more leaves than it printed gets one failure per missing case.
    Returns the number of leaves seen.
    """
    subtest = {}        # indent -> name of the subtest opened at that indent
    plans = {}          # indent -> [name, planned, seen]
    prev_indent = None
    leaves = 0

    def close(indent):
        for i in [i for i in plans if i >= indent]:
            name, planned, seen = plans.pop(i)
            for k in range(seen + 1, planned + 1):
                tally.add(f"{prefix}{name}#{k}", "fail", "no result (crashed or hung?)")

    for raw in lines:
        line = raw.rstrip("\n")
        m = _subtest_re.match(line)
        if m:
            close(len(m.group(1)))
            subtest[len(m.group(1))] = m.group(2)
            continue
        m = _plan_re.match(line)
        if m:
            ind = len(m.group(1))
            plans[ind] = [subtest.get(ind, ""), int(m.group(2)), 0]
            continue
        m = _result_re.match(line)
        if not m:
            continue
        ind = len(m.group(1))
        if ind in plans:
            plans[ind][2] += 1
        is_parent = prev_indent is not None and prev_indent > ind
        prev_indent = ind
        if is_parent:
            # Closes the subtest one level in: forget its plan.
            for i in [i for i in plans if i > ind]:
                name, planned, seen = plans.pop(i)
                for k in range(seen + 1, planned + 1):
                    tally.add(f"{prefix}{name}#{k}", "fail", "no result (crashed or hung?)")
            continue
        parent = subtest.get(ind, "")
        name = f"{prefix}{parent + '.' if parent else ''}{m.group(4)}"
        if m.group(5) == "SKIP":
            tally.add(name, "skip", m.group(6).strip())
        elif m.group(2) == "ok":
            tally.add(name, "pass")
        else:
            tally.add(name, "fail")
        leaves += 1
    close(0)
    return leaves


# libtest: "test NAME ... ok" (NAME may hold spaces, as doc-tests' do);
# unittest -v: "NAME (module.Class.NAME) ... ok".
_libtest_re = re.compile(
    r"^(?:test (.+?)|(\S+) \(\S+\)) \.\.\. (ok|FAILED|ignored|ERROR|FAIL|skipped.*)$")
_running_re = re.compile(r"^(?:running|Ran) (\d+) tests?\b")


def parse_libtest(lines, prefix, tally):
    """Counts Rust libtest ("test x ... ok") or Python unittest -v lines."""
    expected = seen = 0
    for line in lines:
        line = line.rstrip("\n")
        m = _running_re.match(line)
        if m:
            expected += int(m.group(1))
            continue
        m = _libtest_re.match(line)
        if not m:
            continue
        seen += 1
        verdict = m.group(3)
        outcome = {"ok": "pass", "ignored": "skip"}.get(verdict, "fail")
        if verdict.startswith("skipped"):
            outcome = "skip"
        tally.add(prefix + (m.group(1) or m.group(2)), outcome)
    for k in range(seen + 1, expected + 1):
        tally.add(f"{prefix}#{k}", "fail", "no result (crashed or hung?)")
    return seen


def read_lines(path):
    with open(path, errors="replace") as f:
        return f.readlines()


def summarize(run, host, vm_status, out=sys.stdout):
    tally = Tally()
    # Host side: cargo test, the runner's own tests, tools/audit-refusals.
    for name in sorted(os.listdir(host)) if os.path.isdir(host) else []:
        path = os.path.join(host, name)
        if name.endswith(".out"):
            if parse_libtest(read_lines(path), f"host:{name[:-4]}:", tally) == 0:
                tally.add(f"host:{name[:-4]}", "fail", "printed no test result")
        if name.endswith(".rc") and read_lines(path)[0].strip() != "0":
            tally.add(f"host:{name[:-3]}:exit", "fail", "exited " + read_lines(path)[0].strip())
    # KUnit, from the console.
    console = os.path.join(run, "console.log")
    if os.path.exists(console):
        if parse_ktap(read_lines(console), "kunit:", tally) == 0:
            tally.add("kunit", "fail", "no KUnit results on the console")
    # In-guest programs.
    results = os.path.join(run, "results")
    for name in sorted(os.listdir(results)) if os.path.isdir(results) else []:
        path = os.path.join(results, name)
        base, ext = os.path.splitext(name)
        if ext == ".tap":
            if parse_ktap(read_lines(path), f"{base}:", tally) == 0:
                tally.add(base, "fail", "printed no test result")
        elif ext == ".out":
            if parse_libtest(read_lines(path), f"{base}:", tally) == 0:
                tally.add(base, "fail", "printed no test result")
        elif ext == ".rc":
            rc = read_lines(path)[0].strip()
            if rc not in ("0", "4"):   # 4: KSFT_SKIP for a whole program
                tally.add(f"{base}:exit", "fail", f"exited {rc}")
    if vm_status == 124:
        tally.add("vm:watchdog", "fail", "the guest did not finish in time")
    elif vm_status == 125:
        tally.add("vm:kernel-log", "fail", "the kernel reported an oops/BUG/WARNING/lockdep/KASAN splat")
    elif vm_status == 126:
        tally.add("vm:exit", "fail", "the VM ended without an exit status")
    elif not os.path.exists(os.path.join(run, "exit-status")):
        tally.add("vm:exit", "fail", "the guest wrote no exit status")

    for name, outcome, why in tally.results:
        if outcome == "fail":
            print(f"FAIL {name}{': ' + why if why else ''}", file=out)
        elif outcome == "skip":
            print(f"SKIP {name}{': ' + why if why else ''}", file=out)
    passed, failed, skipped = tally.count("pass"), tally.count("fail"), tally.count("skip")
    print(f"{passed} passed, {failed} failed, {skipped} skipped", file=out)
    return 1 if failed else 0


def first_report(paths, after=60, before=5):
    """The lines around the first kernel problem in `paths` (the report's
    call trace, which the matching lines alone do not show), or []."""
    for path in paths:
        for n, lines in _problems(path)[:1]:
            return lines[max(0, n - before):n + after]
    return []


def main(argv):
    if len(argv) >= 2 and argv[1] == "scan":
        hits = scan(argv[2:])
        for h in hits:
            print(h)
        if hits:
            print("the first report, in context:")
            for line in first_report(argv[2:]):
                print(f"  {line}")
        return 1 if hits else 0
    if len(argv) == 5 and argv[1] == "summary":
        return summarize(argv[2], argv[3], int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
