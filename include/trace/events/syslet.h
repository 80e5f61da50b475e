/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the syslet engine (syslets/syslet/). Emitted from Rust
 * through the wrappers in syslets/syslet/trace.c.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM syslet

#if !defined(_TRACE_SYSLET_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SYSLET_H

#include <linux/tracepoint.h>

/* A chain was submitted by async_exec(). */
TRACE_EVENT(syslet_submit,
	TP_PROTO(unsigned long atom, unsigned long ahu, bool inline_run),
	TP_ARGS(atom, ahu, inline_run),
	TP_STRUCT__entry(
		__field(unsigned long, atom)
		__field(unsigned long, ahu)
		__field(bool, inline_run)
	),
	TP_fast_assign(
		__entry->atom = atom;
		__entry->ahu = ahu;
		__entry->inline_run = inline_run;
	),
	TP_printk("atom=0x%lx ahu=0x%lx %s", __entry->atom, __entry->ahu,
		  __entry->inline_run ? "inline" : "async-thread")
);

/* A chain went asynchronous: async_exec() returns NULL. */
TRACE_EVENT(syslet_async,
	TP_PROTO(unsigned long atom, int reason),
	TP_ARGS(atom, reason),
	TP_STRUCT__entry(
		__field(unsigned long, atom)
		__field(int, reason)
	),
	TP_fast_assign(
		__entry->atom = atom;
		__entry->reason = reason;
	),
	TP_printk("atom=0x%lx reason=%s", __entry->atom,
		  __print_symbolic(__entry->reason, { 0, "blocked" },
				   { 1, "SYSLET_ASYNC" }, { 2, "signal" }))
);

/* A chain ended: returned to the caller, or posted to the ring. */
TRACE_EVENT(syslet_complete,
	TP_PROTO(unsigned long atom, int error, bool posted),
	TP_ARGS(atom, error, posted),
	TP_STRUCT__entry(
		__field(unsigned long, atom)
		__field(int, error)
		__field(bool, posted)
	),
	TP_fast_assign(
		__entry->atom = atom;
		__entry->error = error;
		__entry->posted = posted;
	),
	TP_printk("atom=0x%lx error=%d %s", __entry->atom, __entry->error,
		  __entry->posted ? "posted" : "returned")
);

#endif /* _TRACE_SYSLET_H */

#include <trace/define_trace.h>
