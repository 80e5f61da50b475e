// SPDX-License-Identifier: GPL-2.0

//! A first program on the crate: one chain opens a file, reads its start
//! and finds its size; prints what each atom returned. Copy it as the
//! `src/main.rs` of your own crate (README, "Your own Rust program").
//! On a kernel without syslets it prints the ENOSYS and exits with 1.

use syslet::{scope, Chain, FdArg, Stop, Submitted, Val, Whence};

fn main() {
    let path = c"/etc/os-release";
    let mut head = [0u8; 40];
    let r = scope(4, |ring| {
        let mut chain = Chain::new();
        let buf = chain.buf_mut(&mut head);
        let open = chain.openat(FdArg::Cwd, path, 0, 0);
        chain.stop_on(open, Stop::NEGATIVE);
        let read = chain.read(open, buf);
        let size = chain.lseek(open, Val::Const(0), Whence::End);
        let done = match ring.submit(chain).expect("a valid chain") {
            Submitted::Done(c) => c,
            Submitted::InFlight(_) => ring.next_completion(None).expect("a completion"),
        };
        let outcomes = [done.outcome(open), done.outcome(read), done.outcome(size)];
        (done.end(), outcomes)
    });
    let (end, [open, read, size]) = r.expect("a ring of 4 slots");
    if let Err(e) = end {
        eprintln!("async_exec: {e}");
        std::process::exit(1);
    }
    println!("openat: {open:?}\nread:   {read:?}\nlseek:  {size:?}");
    println!("{}", String::from_utf8_lossy(&head).lines().next().unwrap_or(""));
}
