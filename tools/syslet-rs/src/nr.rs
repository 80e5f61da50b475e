// SPDX-License-Identifier: GPL-2.0

//! System call numbers, copied from `include/uapi/linux/syslet.h` (the
//! test `numbers_match_the_uapi_header` keeps the copy honest).

/// `async_exec(atom, ahu)`.
pub const ASYNC_EXEC: usize = 600;
/// `async_wait(min_wait_events, user_ring_idx, ahu)`.
pub const ASYNC_WAIT: usize = 601;
/// `umem_add(uptr, inc)`.
pub const UMEM_ADD: usize = 602;
/// `threadlet_on(flags)`: returns twice; see [`crate::raw::threadlet_exec`].
pub const THREADLET_ON: usize = 603;
/// `threadlet_off()`.
pub const THREADLET_OFF: usize = 604;
/// `fdup(fd, flags)` (`include/uapi/linux/fdspace.h`).
pub const FDUP: usize = 605;

#[cfg(test)]
mod tests {
    const HEADER: &str = include_str!("../../../include/uapi/linux/syslet.h");
    const FDSPACE: &str = include_str!("../../../include/uapi/linux/fdspace.h");

    fn header_nr(name: &str) -> Option<usize> {
        let key = format!("#define __NR_{name}");
        HEADER
            .lines()
            .chain(FDSPACE.lines())
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|rest| rest.trim().parse().ok())
    }

    #[test]
    fn numbers_match_the_uapi_header() {
        assert_eq!(header_nr("async_exec"), Some(super::ASYNC_EXEC));
        assert_eq!(header_nr("async_wait"), Some(super::ASYNC_WAIT));
        assert_eq!(header_nr("umem_add"), Some(super::UMEM_ADD));
        assert_eq!(header_nr("threadlet_on"), Some(super::THREADLET_ON));
        assert_eq!(header_nr("threadlet_off"), Some(super::THREADLET_OFF));
        assert_eq!(header_nr("fdup"), Some(super::FDUP));
    }

    #[test]
    fn numbers_are_clear_of_mainline_and_x32() {
        for nr in [
            super::ASYNC_EXEC,
            super::ASYNC_WAIT,
            super::UMEM_ADD,
            super::THREADLET_ON,
            super::THREADLET_OFF,
            super::FDUP,
        ] {
            assert!((600..=615).contains(&nr), "{nr} outside the subsystem's block");
        }
    }
}
