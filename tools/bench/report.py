#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints make bench's table from the guest's JSON lines and writes every
figure, with ratios to each benchmark's baseline, as one JSON array; then
checks the issues' targets (TARGETS) on the per-round ratios of the jobs
fio-bench runs in rounds, and prints each as met or missed.

  report.py IN.jsonl OUT.json
"""
import json
import sys

# The variant every other variant of a benchmark is compared with.
BASELINES = {"syscall": "getppid", "getppid1": "direct", "pread1": "direct", "pread10": "direct",
             "atoms": "direct", "fixed": "enosys_direct", "nop": "getppid", "statx": "direct",
             "blocking": "async_exec_completion", "fio_randread": "stock_libaio",
             "fio_seqread": "stock_libaio", "fio_randwrite": "stock_libaio",
             "fio_randwrite_nofsync": "stock_libaio", "aio_fsync": "stock_libaio",
             "fio_randwrite_where": "syslet_libaio_thread",
             "fio_randread_virtio": "stock_libaio", "fio_randread_qd1": "stock_libaio",
             "fio_warm_bdev_qd1": "stock_libaio", "fio_warm_bdev_qd64": "stock_libaio",
             "fio_warm_tmpfs_qd1": "stock_libaio", "fio_warm_tmpfs_qd64": "stock_libaio",
             "fdscale_dup": "linear_hot_N1", "fdscale_open": "linear_hot_N1",
             "fdscale_threads": "private_1thread",
             # examples/fsync-writer, server, treewalk, copy (issue #19)
             "fsync_writer_qd1": "direct", "fsync_writer_qd16": "direct",
             "server_qd1": "threads", "server_qd16": "threads", "server_late_qd16": "threads",
             "treewalk_qd1": "direct", "treewalk_qd16": "direct",
             "copy_qd1": "direct", "copy_qd16": "direct"}


# Variants also compared with other variants of their benchmark: the
# library against glibc's POSIX AIO and io_uring (issue #18's targets);
# the examples' syslet variants against their io_uring ones (issue #19).
ALSO = {"posixaio_syslet": ("posixaio", "io_uring", "posixaio_syslet_nohelper"),
        "posixaio_syslet_nohelper": ("posixaio",), "syslet": ("io_uring",)}


# The "Done when" figures of issues #15 and #18 that make bench measures:
# (issue, job, variant, metric, other variant, bound, what). The ratio is
# the median over the rounds of variant/other in the same round; a bound
# ">= x" must be reached, "<= x" not exceeded.
TARGETS = [
    (15, "warm_ext4_qd1", "syslet_libaio", "iops", "stock_libaio", ">=", 0.95, "cached ext4 QD 1"),
    (15, "warm_ext4_qd64", "syslet_libaio", "iops", "stock_libaio", ">=", 0.95, "cached ext4 QD 64"),
    (15, "warm_tmpfs_qd1", "syslet_libaio", "iops", "stock_libaio", ">=", 0.95, "cached tmpfs QD 1"),
    (15, "warm_tmpfs_qd64", "syslet_libaio", "iops", "stock_libaio", ">=", 0.95, "cached tmpfs QD 64"),
    (15, "warm_ext4_qd1", "syslet_libaio", "iops", "io_uring", ">=", 0.9, "cached ext4 QD 1"),
    (15, "warm_ext4_qd64", "syslet_libaio", "iops", "io_uring", ">=", 0.9, "cached ext4 QD 64"),
    (15, "randwrite", "syslet_libaio", "iops", "io_uring", ">=", 0.9, "random writes + fsync"),
    # no figure in the issue: the same writes without fio's fsyncs, which
    # its libaio engine (fio 3.39) makes with fsync(2), synchronously
    (15, "randwrite_nofsync", "syslet_libaio", "iops", "io_uring", ">=", 0.9,
     "random writes, no fsync (the write path alone)"),
    # the target's writes with their fsyncs queued as aio (aio-fsync-bench)
    (15, "aio_fsync", "syslet_libaio", "iops", "io_uring", ">=", 0.9,
     "random writes + IOCB_CMD_FSYNC every 64"),
    (15, "randread", "syslet_libaio", "iops", "stock_libaio", ">=", 10, "cold null_blk QD 64"),
    (15, "randread", "syslet_libaio", "iops", "io_uring", ">=", 0.9, "cold null_blk QD 64"),
    (15, "randread_virtio", "syslet_libaio", "iops", "io_uring", ">=", 0.9, "cold virtio-blk QD 64"),
    # no figure in the issue: existing programs must not find it slower
    (15, "randread_qd1", "syslet_libaio", "iops", "stock_libaio", ">=", 0.95,
     "cold null_blk QD 1, not slower than stock"),
    (15, "randread", "syslet_libaio_seccomp", "iops", "stock_libaio_seccomp", ">=", 10,
     "cold null_blk QD 64 under a Docker-shaped filter"),
    (15, "randread", "syslet_libaio_seccomp", "iops", "syslet_libaio", ">=", 0.9,
     "filtered against unfiltered, cold"),
    (18, "randread", "posixaio_syslet", "iops", "posixaio", ">=", 10, "POSIX AIO cold QD 64"),
    (18, "randread", "posixaio_syslet", "iops", "io_uring", ">=", 0.9, "POSIX AIO cold QD 64"),
    (18, "randread", "posixaio_syslet", "machine_cpu_us_per_io", "io_uring", "<=", 1.5,
     "POSIX AIO cold QD 64, CPU per I/O"),
] + [(18, f"warm_{f}_qd{d}", "posixaio_syslet", "iops", "posixaio", ">=", 1.0,
      f"POSIX AIO cached {f} QD {d}") for f in ("bdev", "ext4", "tmpfs") for d in (1, 64)]


def targets(records):
    """Prints the targets, met or missed, and returns them as records."""
    vals = {(r["benchmark"], r["variant"], r["metric"]): r["value"] for r in records}
    out = []
    print("\ntargets (median of the per-round ratios; min-max over the rounds)")
    for issue, job, variant, metric, other, op, bound, what in TARGETS:
        bench = job if job.startswith("aio_") else "fio_" + job
        key = (bench, variant, f"{metric}_round_vs_{other}")
        ratio = vals.get(key)
        if ratio is None:
            print(f"#{issue} {what}: {variant}/{other} {metric}: not measured")
            continue
        lo, hi = vals.get(key[:2] + (key[2] + "_min",)), vals.get(key[:2] + (key[2] + "_max",))
        met = ratio >= bound if op == ">=" else ratio <= bound
        print(f"#{issue} {what}: {variant}/{other} {metric} {ratio:.3g}x "
              f"({lo:.3g}-{hi:.3g}), target {op} {bound}: {'met' if met else 'MISSED'}")
        out.append({"benchmark": "targets", "variant": f"{job}:{variant}/{other}",
                    "metric": metric, "value": ratio, "unit": "ratio", "issue": issue,
                    "bound": f"{op} {bound}", "met": met})
    return out


def main(src, dst):
    records = [json.loads(l) for l in open(src) if l.strip()]
    if not records:
        sys.exit("bench: the guest produced no measurement")
    base = {}
    for r in records:
        if BASELINES.get(r["benchmark"]) == r["variant"]:
            base[(r["benchmark"], r["metric"])] = r["value"]
    out = list(records)
    print(f"{'benchmark':<12} {'variant':<22} {'metric':<12} {'value':>12} {'unit':<5} {'ratio':>7}")
    for r in records:
        # each round's figures are in the JSON; the table has their medians
        if r["benchmark"].endswith("_round"):
            continue
        b = base.get((r["benchmark"], r["metric"])) if r["unit"] != "ratio" else None
        ratio = r["value"] / b if b else None
        print(f"{r['benchmark']:<12} {r['variant']:<22} {r['metric']:<12} {r['value']:>12.1f} "
              f"{r['unit']:<5} {'' if ratio is None else f'{ratio:.3g}x':>7}")
        if ratio is not None and r["variant"] != BASELINES[r["benchmark"]]:
            out.append({"benchmark": r["benchmark"], "variant": r["variant"],
                        "metric": f"{r['metric']}_vs_{BASELINES[r['benchmark']]}",
                        "value": round(ratio, 4), "unit": "ratio"})
    vals = {(r["benchmark"], r["variant"], r["metric"]): r["value"] for r in records
            if r["unit"] != "ratio" and not r["benchmark"].endswith("_round")}
    for (bench, variant, metric), v in vals.items():
        for other in ALSO.get(variant, ()):
            o = vals.get((bench, other, metric))
            if o:
                print(f"{bench:<12} {variant + '/' + other:<22} {metric:<12} {v / o:>12.3g}x")
                out.append({"benchmark": bench, "variant": variant, "metric": f"{metric}_vs_{other}",
                            "value": round(v / o, 4), "unit": "ratio"})
    out += targets(records)
    with open(dst, "w") as f:
        json.dump(out, f, indent=1)
    print(f"JSON: {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
