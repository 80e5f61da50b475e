#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make profile's report: translation blocks and guest instructions per
call, from the counts tbcount.so wrote for each mode of percall.c, less
the boot's own ("none").

usage: report.py DIR SYSTEM_MAP N none MODE...
"""
import bisect
import collections
import sys


def load(path):
    counts = {}
    for line in open(path):
        parts = line.split(None, 3)
        counts[(int(parts[0], 16), int(parts[2]))] = int(parts[1])
    return counts


def symbols(system_map):
    syms = []
    for line in open(system_map):
        addr, kind, name = line.split()[:3]
        if kind.lower() in "tw":
            syms.append((int(addr, 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def per_call(base, counts, n):
    """TBs that ran at least once per call: {(vaddr, insns): runs per call}.

    What one boot runs more than another (delay and TSC calibration, page
    clearing) is noise of up to a few blocks per call at N = 10^5; it is
    dropped by name (boot_noise) or, for the rest, by not being a whole
    number of runs per call (a deterministic loop runs each block a whole
    number of times per call)."""
    rows = {}
    for key, c in counts.items():
        per = (c - base.get(key, 0)) / n
        if per >= 0.9 and abs(per - round(per)) < 0.1:
            rows[key] = per
    return rows


def boot_noise(fn):
    return "calibrat" in fn or fn == "read_current_timer"


def function(addrs, names, vaddr):
    if vaddr < 0xFFFF800000000000:
        return "(user space)"
    i = bisect.bisect_right(addrs, vaddr) - 1
    name = names[i] if i >= 0 else "?"
    return readable(name)


def readable(name):
    """The path of a Rust v0-mangled symbol (`_RNvNt..6syslet7handoff3foo`
    -> `syslet::handoff::foo`), without generic arguments; C names as they are."""
    if not name.startswith("_R"):
        return name
    parts, i = [], 2
    while i < len(name):
        if name[i].isdigit():
            j = i
            while j < len(name) and name[j].isdigit():
                j += 1
            k = int(name[i:j])
            if name[j:j + 1] == "_":  # an identifier starting with a digit or '_'
                j += 1
            ident = name[j:j + k]
            if ident and (ident[0].isalpha() or ident[0] == "_"):
                parts.append(ident)
            i = j + k
        else:
            i += 1
    # Crate disambiguators (`Cs...`) are skipped; keep the last three.
    return "::".join(parts[-3:]) if parts else name


def main():
    d, system_map, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    modes = sys.argv[4:]
    if not modes or modes[0] != "none":
        sys.exit("report.py: the first mode must be none")
    addrs, names = symbols(system_map)
    base = load(f"{d}/none.txt")
    totals = {}
    detail = {}
    for mode in modes[1:]:
        rows = per_call(base, load(f"{d}/{mode}.txt"), n)
        rows = {k: v for k, v in rows.items() if not boot_noise(function(addrs, names, k[0]))}
        tbs = sum(rows.values())
        insns = sum(per * key[1] for key, per in rows.items())
        totals[mode] = (tbs, insns)
        by_fn = collections.Counter()
        for (vaddr, _), per in rows.items():
            by_fn[function(addrs, names, vaddr)] += per
        detail[mode] = by_fn
    ref = totals.get("getppid")
    print(f"{'mode':10} {'TBs/call':>9} {'insns/call':>11} {'TBs vs getppid':>15}")
    for mode, (tbs, insns) in totals.items():
        ratio = f"{tbs / ref[0]:.2f}x" if ref else "-"
        print(f"{mode:10} {tbs:9.1f} {insns:11.1f} {ratio:>15}")
    if "chain1" in totals and "chain10" in totals:
        t1, i1 = totals["chain1"]
        t10, i10 = totals["chain10"]
        print(f"per chained atom (chain10 - chain1) / 9: {(t10 - t1) / 9:.1f} TBs, "
              f"{(i10 - i1) / 9:.1f} insns")
    for what, stock, syslet, uring in (("cached", "aio_stock", "aio_syslet", "uring"),
                                       ("cold", "cold_stock", "cold_syslet", "cold_uring")):
        # issue #15's reads at QD 1: what the syslet path adds
        if stock not in totals or syslet not in totals:
            continue
        (ts, is_), (ty, iy) = totals[stock], totals[syslet]
        print(f"{what} 4 KiB read, syslet/stock: {iy / is_:.3f}x insns ({iy - is_:+.0f}), "
              f"{ty / ts:.3f}x TBs", end="")
        if uring in totals:
            print(f"; stock/io_uring {is_ / totals[uring][1]:.3f}x, "
                  f"syslet/io_uring {iy / totals[uring][1]:.3f}x insns", end="")
        print()
        for other in (stock, uring):
            if other not in detail:
                continue
            diff = collections.Counter(detail[syslet])
            diff.subtract(detail[other])
            print(f"  TBs per call, {syslet} less {other}, by function:")
            for fn, per in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:14]:
                if abs(per) >= 0.5:
                    print(f"  {per:+7.1f}  {fn}")
    for mode in modes[1:]:
        print(f"\n{mode}: TBs per call by function")
        for fn, per in detail[mode].most_common(14):
            print(f"  {per:7.1f}  {fn}")


if __name__ == "__main__":
    main()
