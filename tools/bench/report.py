#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints make bench's table from the guest's JSON lines and writes every
figure, with ratios to each benchmark's baseline, as one JSON array.

  report.py IN.jsonl OUT.json
"""
import json
import sys

# The variant every other variant of a benchmark is compared with.
BASELINES = {"syscall": "getppid", "getppid1": "direct", "pread1": "direct", "pread10": "direct",
             "atoms": "direct", "fixed": "enosys_direct", "nop": "getppid", "statx": "direct",
             "blocking": "async_exec_completion", "fio_randread": "stock_libaio",
             "fio_seqread": "stock_libaio", "fio_randwrite": "stock_libaio",
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
        b = base.get((r["benchmark"], r["metric"]))
        ratio = r["value"] / b if b else None
        print(f"{r['benchmark']:<12} {r['variant']:<22} {r['metric']:<12} {r['value']:>12.1f} "
              f"{r['unit']:<5} {'' if ratio is None else f'{ratio:.3g}x':>7}")
        if ratio is not None and r["variant"] != BASELINES[r["benchmark"]]:
            out.append({"benchmark": r["benchmark"], "variant": r["variant"],
                        "metric": f"{r['metric']}_vs_{BASELINES[r['benchmark']]}",
                        "value": round(ratio, 4), "unit": "ratio"})
    vals = {(r["benchmark"], r["variant"], r["metric"]): r["value"] for r in records}
    for (bench, variant, metric), v in vals.items():
        for other in ALSO.get(variant, ()):
            o = vals.get((bench, other, metric))
            if o:
                print(f"{bench:<12} {variant + '/' + other:<22} {metric:<12} {v / o:>12.3g}x")
                out.append({"benchmark": bench, "variant": variant, "metric": f"{metric}_vs_{other}",
                            "value": round(v / o, 4), "unit": "ratio"})
    with open(dst, "w") as f:
        json.dump(out, f, indent=1)
    print(f"JSON: {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
