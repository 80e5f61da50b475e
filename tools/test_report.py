# SPDX-License-Identifier: GPL-2.0
"""Tests of the test runner itself (tools/report.py): a failing test, a
kernel WARNING, a crash in the middle of a suite and a hung guest must
each turn into a failure; a clean run must not."""
import io
import os
import tempfile
import unittest

import report

KUNIT_OK = """\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: syslet
    # module: syslet_kunit
    1..2
    ok 1 umem_add_zero_reads
    ok 2 umem_add_adds_and_stores
# syslet: pass:2 fail:0 skip:0 total:2
ok 1 syslet
"""

KSFT_TAP = """\
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
ok 1 global.a
not ok 2 global.b
ok 3 global.c # SKIP not configured
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
"""


class ParseTests(unittest.TestCase):
    def test_kunit_cases_counted_one_by_one(self):
        t = report.Tally()
        self.assertEqual(report.parse_ktap(KUNIT_OK.splitlines(), "kunit:", t), 2)
        self.assertEqual(t.count("pass"), 2)
        self.assertEqual(t.count("fail"), 0)
        self.assertEqual(t.results[0][0], "kunit:syslet.umem_add_zero_reads")

    def test_kunit_suite_cut_short_counts_missing_cases(self):
        crashed = "\n".join(KUNIT_OK.splitlines()[:7])  # one case, then nothing
        t = report.Tally()
        report.parse_ktap(crashed.splitlines(), "kunit:", t)
        self.assertEqual(t.count("pass"), 1)
        self.assertEqual(t.count("fail"), 2)   # case 2, and suite #1 of the top plan

    def test_kselftest_tap_pass_fail_skip(self):
        t = report.Tally()
        report.parse_ktap(KSFT_TAP.splitlines(), "c:", t)
        self.assertEqual((t.count("pass"), t.count("fail"), t.count("skip")), (1, 1, 1))

    def test_kselftest_tap_missing_results_fail(self):
        t = report.Tally()
        report.parse_ktap(KSFT_TAP.splitlines()[:4], "c:", t)
        self.assertEqual(t.count("fail"), 2)

    def test_libtest_lines(self):
        out = ["running 3 tests", "test a ... ok", "test b ... FAILED", "test c ... ignored"]
        t = report.Tally()
        report.parse_libtest(out, "rust:", t)
        self.assertEqual((t.count("pass"), t.count("fail"), t.count("skip")), (1, 1, 1))

    def test_libtest_doctest_and_unittest_names(self):
        out = ["running 1 test", "test src/lib.rs - (line 11) - compile ... ok",
               "test_x (test_report.T.test_x) ... ok", "Ran 1 test in 0.1s"]
        t = report.Tally()
        report.parse_libtest(out, "", t)
        self.assertEqual([n for n, _, _ in t.results], ["src/lib.rs - (line 11) - compile", "test_x"])
        self.assertEqual(t.count("fail"), 0)

    def test_libtest_missing_results_fail(self):
        t = report.Tally()
        report.parse_libtest(["running 2 tests", "test a ... ok"], "rust:", t)
        self.assertEqual(t.count("fail"), 1)


class ScanTests(unittest.TestCase):
    def scan_text(self, text):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
        try:
            return report.scan([f.name])
        finally:
            os.unlink(f.name)

    def test_warning_is_found(self):
        self.assertTrue(self.scan_text(
            "WARNING: CPU: 0 PID: 1 at syslets/syslet/syscalls.c:12 __x64_sys_umem_add\n"))

    def test_lockdep_and_kasan_are_found(self):
        self.assertTrue(self.scan_text("WARNING: possible circular locking dependency detected\n"))
        self.assertTrue(self.scan_text("BUG: KASAN: slab-out-of-bounds in foo\n"))

    def test_first_report_comes_with_its_call_trace(self):
        text = "".join(f"boot line {i}\n" for i in range(10))
        text += "| BUG: echoed by a test\n[ 0.1] BUG: KASAN: wild-memory-access in f+0x1/0x2\n"
        text += "".join(f" trace {i}\n" for i in range(100))
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
        try:
            ctx = report.first_report([f.name])
        finally:
            os.unlink(f.name)
        self.assertEqual(ctx[5], "[ 0.1] BUG: KASAN: wild-memory-access in f+0x1/0x2")
        self.assertEqual(ctx[6], " trace 0")
        self.assertEqual(len(ctx), 65)

    def test_echoed_test_output_is_not_a_kernel_report(self):
        self.assertEqual(self.scan_text("| thread 'x' panicked at tests/a.rs:1:1:\n| WARNING: y\n"), [])

    def test_kernel_gpf_is_found_a_user_programs_is_not(self):
        self.assertTrue(self.scan_text(
            "Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1]\n"))
        self.assertTrue(self.scan_text("general protection fault: 0000 [#1] PREEMPT SMP\n"))
        self.assertEqual(self.scan_text(
            "[   67.27] traps: handoff_contrac[860] general protection fault ip:5572fffacebf "
            "sp:7f20b7b60c60 error:802 in handoff_contract_options_test[5ebf,5572fffa9000+5000]\n"), [])

    def test_mand_mount_notice_is_not_a_splat(self):
        self.assertEqual(self.scan_text(
            "[ 2263.832156] =======================================================\n"
            "               WARNING: The mand mount option has been deprecated and\n"), [])
        self.assertTrue(self.scan_text("WARNING: CPU: 1 PID: 9 at fs/namespace.c:1 foo\n"))

    def test_clean_log_passes(self):
        self.assertEqual(self.scan_text("Linux version 6.12.117\nok 1 syslet\n"), [])


class SummaryTests(unittest.TestCase):
    def make_run(self, console, results, exit_status=True):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "results"))
        with open(os.path.join(d, "console.log"), "w") as f:
            f.write(console)
        for name, text in results.items():
            with open(os.path.join(d, "results", name), "w") as f:
                f.write(text)
        if exit_status:
            with open(os.path.join(d, "exit-status"), "w") as f:
                f.write("0\n")
        return d

    def summarize(self, run, vm_status):
        out = io.StringIO()
        rc = report.summarize(run, "/nonexistent", vm_status, out)
        self.last = out.getvalue()
        return rc

    def test_clean_run_passes(self):
        run = self.make_run(KUNIT_OK, {"c-x.tap": "1..1\nok 1 global.a\n", "c-x.rc": "0\n"})
        self.assertEqual(self.summarize(run, 0), 0)
        self.assertTrue(self.last.endswith("3 passed, 0 failed, 0 skipped\n"))

    def test_failing_test_fails_the_run(self):
        run = self.make_run(KUNIT_OK, {"c-x.tap": "1..1\nnot ok 1 global.a\n", "c-x.rc": "1\n"})
        self.assertEqual(self.summarize(run, 0), 1)

    def test_kernel_warning_fails_the_run(self):
        run = self.make_run(KUNIT_OK, {"c-x.tap": "1..1\nok 1 global.a\n", "c-x.rc": "0\n"})
        self.assertEqual(self.summarize(run, 125), 1)

    def test_hung_guest_fails_the_run(self):
        run = self.make_run(KUNIT_OK, {}, exit_status=False)
        self.assertEqual(self.summarize(run, 124), 1)

    def test_missing_kunit_output_fails_the_run(self):
        run = self.make_run("Linux version 6.12.117\n", {"c-x.tap": "1..1\nok 1 global.a\n"})
        self.assertEqual(self.summarize(run, 0), 1)


if __name__ == "__main__":
    unittest.main()
