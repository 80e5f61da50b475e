// SPDX-License-Identifier: GPL-2.0

//! KUnit cases for the worker pool's idle list (syslet_kunit.c calls
//! them). Workers are made without threads: the cases park and take them
//! as their threads and submitters would. Each returns 0 when every check
//! held, or the line of the first that did not.

use super::{Worker, WorkerPool};
use crate::{job::Tables, shared::Shared};
use core::{ffi::c_int, sync::atomic::Ordering};
use kernel::sync::Arc;

/// park, take, unpark: a parked worker is taken once, by a caller with
/// its tables; parking twice adds it once; a gone worker is never added;
/// unpark says whether it was there.
#[no_mangle]
pub extern "C" fn syslet_kunit_worker_idle() -> c_int {
    let Ok(shared) = Shared::new() else { return -1 };
    let Ok(pool) = WorkerPool::new(shared) else { return -1 };
    let (Ok(a), Ok(b)) = (Worker::new(pool.clone()), Worker::new(pool.clone())) else { return -1 };
    let tables = Tables::of_current();
    let res = (|| {
        kunit_check!(pool.take_idle(&tables).is_none());
        pool.park(a.clone());
        pool.park(a.clone());
        let Some(w) = pool.take_idle(&tables) else { return line!() as c_int };
        kunit_check!(Arc::ptr_eq(&w, &a));
        kunit_check!(pool.take_idle(&tables).is_none());
        kunit_check!(!pool.unpark(&a));
        pool.park(a.clone());
        kunit_check!(pool.unpark(&a));
        kunit_check!(!pool.unpark(&a));
        b.gone.store(true, Ordering::Release);
        pool.park(b.clone());
        kunit_check!(pool.take_idle(&tables).is_none() && !pool.unpark(&b));
        0
    })();
    // Each worker holds its pool, the pool's list holds it: empty it.
    pool.unpark(&a);
    pool.unpark(&b);
    res
}

/// take_idle takes only a worker made with the caller's tables.
#[no_mangle]
pub extern "C" fn syslet_kunit_worker_tables() -> c_int {
    let Ok(shared) = Shared::new() else { return -1 };
    let Ok(pool) = WorkerPool::new(shared) else { return -1 };
    let Ok(a) = Worker::new(pool.clone()) else { return -1 };
    let res = (|| {
        pool.park(a.clone());
        let other = Tables::other_than(&a.tables);
        kunit_check!(pool.take_idle(&other).is_none());
        kunit_check!(pool.take_idle(&a.tables).is_some());
        0
    })();
    pool.unpark(&a);
    res
}
