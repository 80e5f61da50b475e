// SPDX-License-Identifier: GPL-2.0

//! Holds nothing: the tests live in `tests/` and need the patched kernel,
//! so `tools/build-guest` builds them and `make test` runs them in the VM.
