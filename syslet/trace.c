// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints of the syslet engine: instantiated here, emitted from Rust
 * through these one-line wrappers (tracepoints are static inlines).
 */
#include <linux/syslet.h>

#define CREATE_TRACE_POINTS
#include <trace/events/syslet.h>

void syslet_trace_submit(unsigned long atom, unsigned long ahu, bool inline_run)
{
	trace_syslet_submit(atom, ahu, inline_run);
}

void syslet_trace_async(unsigned long atom, int reason)
{
	trace_syslet_async(atom, reason);
}

void syslet_trace_complete(unsigned long atom, int error, bool posted)
{
	trace_syslet_complete(atom, error, posted);
}
