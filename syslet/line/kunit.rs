// SPDX-License-Identifier: GPL-2.0

//! KUnit cases for lines (syslet_kunit.c calls them), drained by the
//! test's own thread: which jobs join, in what order they come out, what
//! a line abandoned does. Each returns 0 when every check held, or the
//! line of the first that did not.

use super::Line;
use crate::job::Detached;
use core::{
    ffi::c_int,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{bindings, prelude::*, sync::Arc};

/// The runs of a line's jobs: how many ran in order, and how many were
/// told the process is dying.
struct Runs {
    in_order: AtomicUsize,
    dying: AtomicUsize,
}

/// A job that checks it runs `n`th.
struct Counted {
    n: usize,
    runs: Arc<Runs>,
}

impl Detached for Counted {
    fn run(&mut self, dying: bool) -> bool {
        if dying {
            self.runs.dying.fetch_add(1, Ordering::Relaxed);
        }
        // Out of order: the count stops for good.
        let _ = self.runs.in_order.compare_exchange(self.n, self.n + 1, Ordering::Relaxed, Ordering::Relaxed);
        false
    }
}

fn job(n: usize, runs: &Arc<Runs>) -> Result<KBox<Counted>> {
    Ok(KBox::new(Counted { n, runs: runs.clone() }, GFP_KERNEL)?)
}

fn runs() -> Result<Arc<Runs>> {
    Ok(Arc::new(Runs { in_order: AtomicUsize::new(0), dying: AtomicUsize::new(0) }, GFP_KERNEL)?)
}

/// Jobs join only a line with a drainer; they come out in the order they
/// joined, across the compactions of a line never empty for long; the
/// line is left once empty.
#[no_mangle]
pub extern "C" fn syslet_kunit_line_order() -> c_int {
    let (Ok(line), Ok(runs)) = (Line::new(), runs()) else { return -1 };
    let res = (|| {
        let Ok(j) = job(0, &runs) else { return line!() as c_int };
        kunit_check!(line.join(1, j).is_err());
        kunit_check!(line.open(1));
        kunit_check!(!line.open(1));
        let (mut joined, mut ran) = (0, 0);
        for _ in 0..20 {
            for _ in 0..5 {
                let Ok(j) = job(joined, &runs) else { return line!() as c_int };
                kunit_check!(line.join(1, j).is_ok());
                joined += 1;
            }
            for _ in 0..3 {
                let Some(mut j) = line.next() else { return line!() as c_int };
                j.run(false);
                ran += 1;
            }
        }
        while let Some(mut j) = line.next() {
            j.run(false);
            ran += 1;
        }
        kunit_check!(ran == joined && runs.in_order.load(Ordering::Relaxed) == joined);
        // A line never empty reuses the slots of the jobs taken: with 4
        // waiting at a time, 1,000 jobs through it leave it small.
        let Ok(line) = Line::new() else { return line!() as c_int };
        kunit_check!(line.open(1));
        for _ in 0..1000 {
            let Ok(j) = job(joined, &runs) else { return line!() as c_int };
            kunit_check!(line.join(1, j).is_ok());
            joined += 1;
            if joined - ran > 4 {
                let Some(mut j) = line.next() else { return line!() as c_int };
                j.run(false);
                ran += 1;
            }
        }
        kunit_check!(line.inner.lock().jobs.capacity() <= 16);
        while let Some(mut j) = line.next() {
            j.run(false);
            ran += 1;
        }
        kunit_check!(ran == joined && runs.in_order.load(Ordering::Relaxed) == joined);
        let Ok(j) = job(joined, &runs) else { return line!() as c_int };
        kunit_check!(line.join(1, j).is_err());
        kunit_check!(line.open(1));
        kunit_check!(line.leave_if_empty());
        0
    })();
    res
}

/// A job joins only a line drained for its key, as its submitter: not
/// with other credentials (another `struct cred`).
#[no_mangle]
pub extern "C" fn syslet_kunit_line_admits() -> c_int {
    let (Ok(line), Ok(runs)) = (Line::new(), runs()) else { return -1 };
    let res = (|| {
        kunit_check!(line.open(1));
        let Ok(j) = job(0, &runs) else { return line!() as c_int };
        kunit_check!(line.join(2, j).is_err());
        // SAFETY: a new copy of the current credentials, which this
        // thread uses until it reverts them, then drops.
        let (new, old) = unsafe {
            let new = bindings::prepare_creds();
            if new.is_null() {
                return line!() as c_int;
            }
            (new, bindings::override_creds(new))
        };
        let refused = job(0, &runs).map(|j| line.join(1, j).is_err());
        // SAFETY: restores what `override_creds` returned; drops ours.
        unsafe {
            bindings::revert_creds(old);
            bindings::put_cred(new);
        }
        kunit_check!(refused == Ok(true));
        let Ok(j) = job(0, &runs) else { return line!() as c_int };
        kunit_check!(line.join(1, j).is_ok());
        let Some(mut j) = line.next() else { return line!() as c_int };
        j.run(false);
        kunit_check!(line.next().is_none());
        0
    })();
    res
}

/// A stalled line (its drainer waits for something other than the key,
/// alone) admits no job until it is unstalled; the jobs in it stay.
#[no_mangle]
pub extern "C" fn syslet_kunit_line_stall() -> c_int {
    let (Ok(line), Ok(runs)) = (Line::new(), runs()) else { return -1 };
    let res = (|| {
        kunit_check!(line.open(3));
        let Ok(j) = job(0, &runs) else { return line!() as c_int };
        kunit_check!(line.join(3, j).is_ok());
        line.stall();
        let Ok(j) = job(1, &runs) else { return line!() as c_int };
        kunit_check!(line.join(3, j).is_err());
        kunit_check!(!line.open(3));
        line.unstall();
        let Ok(j) = job(1, &runs) else { return line!() as c_int };
        kunit_check!(line.join(3, j).is_ok());
        while let Some(mut j) = line.next() {
            j.run(false);
        }
        kunit_check!(runs.in_order.load(Ordering::Relaxed) == 2);
        0
    })();
    res
}

/// A line whose drainer never came: `abandon` runs the jobs that joined
/// meanwhile as dying, and leaves the line.
#[no_mangle]
pub extern "C" fn syslet_kunit_line_abandon() -> c_int {
    let (Ok(line), Ok(runs)) = (Line::new(), runs()) else { return -1 };
    let res = (|| {
        kunit_check!(line.open(7));
        for n in 0..3 {
            let Ok(j) = job(n, &runs) else { return line!() as c_int };
            kunit_check!(line.join(7, j).is_ok());
        }
        line.abandon();
        kunit_check!(runs.dying.load(Ordering::Relaxed) == 3);
        kunit_check!(runs.in_order.load(Ordering::Relaxed) == 3);
        let Ok(j) = job(3, &runs) else { return line!() as c_int };
        kunit_check!(line.join(7, j).is_err());
        0
    })();
    res
}
