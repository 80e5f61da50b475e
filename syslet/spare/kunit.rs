// SPDX-License-Identifier: GPL-2.0

//! KUnit cases for the spare pool's state machine (syslet_kunit.c calls
//! them). Spares are made without threads: the cases drive the states a
//! thread and the handoff hook would, and check the list and its count.
//! Each returns 0 when every check held, or the line of the first that
//! did not.

use super::{Spare, SparePool, SpareState};
use crate::{identity, shared::Shared};
use core::ffi::c_int;
use kernel::{prelude::*, sync::Arc};

fn state(s: &Spare) -> SpareState {
    s.inner.lock().state
}

/// A pool and `n` spares parked in it (`Idle`), as threads would leave
/// them.
fn parked_pool(n: usize) -> Result<(Arc<SparePool>, KVec<Arc<Spare>>)> {
    let pool = SparePool::new(Shared::new()?)?;
    let mut spares = KVec::new();
    for _ in 0..n {
        let s = Spare::new(pool.clone())?;
        pool.park(s.clone());
        s.set_state(SpareState::Idle);
        spares.push(s, GFP_KERNEL)?;
    }
    Ok((pool, spares))
}

/// Unparks every spare (each holds its pool, the pool's list holds it):
/// nothing leaks after a case.
fn teardown(pool: &SparePool, spares: &[Arc<Spare>]) {
    for s in spares {
        pool.unpark(s);
    }
}

/// park -> reserve -> put back (the reservation dropped) -> reserve ->
/// claim: the count follows the
/// list, a reserved spare is not reserved twice, a claimed one is in no
/// list, and parking a parked spare changes nothing.
#[no_mangle]
pub extern "C" fn syslet_kunit_spare_reserve() -> c_int {
    let Ok((pool, spares)) = parked_pool(1) else { return -1 };
    let s = &spares[0];
    let res = (|| {
        kunit_check!(pool.idle_spares() == 1 && state(s) == SpareState::Idle);
        pool.park(s.clone());
        kunit_check!(pool.idle_spares() == 1);
        let Some(r) = pool.reserve() else { return line!() as c_int };
        kunit_check!(state(s) == SpareState::Reserved && pool.idle_spares() == 0);
        kunit_check!(pool.reserve().is_none());
        // Dropping a reservation puts the spare back.
        drop(r);
        kunit_check!(state(s) == SpareState::Idle && pool.idle_spares() == 1);
        let Some(r) = pool.reserve() else { return line!() as c_int };
        drop(r.claim());
        kunit_check!(state(s) == SpareState::Claimed && pool.idle_spares() == 0);
        // A claimed spare is in no list: unpark finds nothing.
        pool.unpark(s);
        kunit_check!(pool.idle_spares() == 0 && pool.reserve().is_none());
        0
    })();
    teardown(&pool, &spares);
    res
}

/// reserve skips spares that are not `Idle` (still `Starting`), and takes
/// the next `Idle` one.
#[no_mangle]
pub extern "C" fn syslet_kunit_spare_reserve_skips() -> c_int {
    let Ok((pool, spares)) = parked_pool(3) else { return -1 };
    spares[0].set_state(SpareState::Starting);
    let res = (|| {
        let Some(r) = pool.reserve() else { return line!() as c_int };
        kunit_check!(core::ptr::eq(r.spare(), &*spares[1]));
        kunit_check!(state(&spares[0]) == SpareState::Starting && pool.idle_spares() == 2);
        drop(r);
        kunit_check!(pool.idle_spares() == 3);
        0
    })();
    teardown(&pool, &spares);
    res
}

/// retire makes every `Idle` spare `Exit` and takes it out; a spare that
/// is not `Idle` stays; unpark takes out what is left, once.
#[no_mangle]
pub extern "C" fn syslet_kunit_spare_retire() -> c_int {
    let Ok((pool, spares)) = parked_pool(3) else { return -1 };
    spares[2].set_state(SpareState::Starting);
    let res = (|| {
        pool.retire(identity::key());
        kunit_check!(state(&spares[0]) == SpareState::Exit && state(&spares[1]) == SpareState::Exit);
        kunit_check!(state(&spares[2]) == SpareState::Starting && pool.idle_spares() == 1);
        kunit_check!(pool.reserve().is_none());
        pool.unpark(&spares[2]);
        kunit_check!(pool.idle_spares() == 0);
        pool.unpark(&spares[2]);
        kunit_check!(pool.idle_spares() == 0);
        // Retired spares can be unparked again harmlessly (their thread's
        // exit does so).
        pool.unpark(&spares[0]);
        kunit_check!(pool.idle_spares() == 0);
        0
    })();
    teardown(&pool, &spares);
    res
}
