# SPDX-License-Identifier: GPL-2.0
#
# This file has two roles.
#
# 1. Inside the kernel tree it is the Kbuild file of the grafted
#    subsystem (the tree's syslets/ directory; Kbuild sets $(obj)).
# 2. In the project's checkout it is the user's entry point:
#    `make run`, `make test`, `make man-lint`, `make bench`, `make profile`,
#    `make check-configs`, `make fuzz`, `make shell`, `make vm CMD=...`, and
#    for user programs `make headers`, `make lib`,
#    `make install DESTDIR=... PREFIX=...`
#    (see README.md).
#
# Kbuild always sets $(obj) when it reads this file; a make run in the
# checkout never does, which is how the two roles are told apart.

ifneq ($(obj),)
# ---- Kbuild -------------------------------------------------------------
obj-$(CONFIG_SYSLET)	+= syslet/
obj-$(CONFIG_FDSPACE)	+= fdspace/

else
# ---- Project commands ---------------------------------------------------
SHELL := /bin/bash
CONFIG ?= test
CMD ?= uname -a
TOOLS := $(CURDIR)/tools
DURATION ?= 300
SEED ?=
# make headers / lib / install: build output (the clone's build/, ignored
# by git) and where install puts things.
BUILD ?= $(CURDIR)/build
PREFIX ?= /usr/local
DESTDIR ?=
LIBMAKE = $(MAKE) -C $(CURDIR)/lib/syslet O=$(BUILD)/lib HDR=$(BUILD)/usr/include \
	  PREFIX=$(PREFIX)

.PHONY: help setup kernel guest run test man-lint bench profile check-configs fuzz shell vm \
	clean-cache headers lib install deb

help:
	@echo "make run     build, boot the patched kernel, run the showcase"
	@echo "make test    build, boot, run every test; prints 'N passed, N failed'"
	@echo "make man-lint  lint the man pages (mandoc -Tlint) and build their examples"
	@echo "make bench   benchmarks on the non-debug kernel (table + JSON)"
	@echo "make profile translation blocks and instructions per call under TCG (exact counts)"
	@echo "make check-configs  build and test a uniprocessor kernel without tracing, fdspace, syslet aio, with mitigations"
	@echo "make fuzz    fuzz the whole ABI on the debug kernel (DURATION=300 s, SEED=time-based, printed)"
	@echo "make shell   interactive shell in the guest (CONFIG=test|bench)"
	@echo "make vm CMD='...'  run one command in the guest, cwd shared in"
	@echo "make headers the sanitized uapi headers into build/usr/include"
	@echo "make lib     libsyslet (static, shared, syslet.pc) into build/lib"
	@echo "make install DESTDIR=... PREFIX=/usr  headers, libsyslet, syslet.pc"
	@echo "make deb    the kernel and libsyslet as Debian packages in build/deb (Documentation/deb.md)"

setup:
	@$(TOOLS)/setup

kernel: setup
	@$(TOOLS)/build-kernel $(CONFIG)

guest: kernel
	@$(TOOLS)/build-guest $(CONFIG)

run:
	@$(TOOLS)/run-showcase

test:
	@$(TOOLS)/test

man-lint: kernel
	@$(TOOLS)/man-lint

bench:
	@$(TOOLS)/bench/run

profile:
	@$(TOOLS)/tcg-profile/run

check-configs:
	@CONFIGS="$(CONFIGS)" $(TOOLS)/check-configs

fuzz:
	@DURATION=$(DURATION) SEED=$(SEED) $(TOOLS)/fuzz/run

shell: guest
	@$(TOOLS)/vm --config $(CONFIG) --interactive -- \
		/bin/sh -c 'exec setsid -c /bin/bash -l <>/dev/ttyS0 >&0 2>&1'

vm: guest
	@$(TOOLS)/vm --config $(CONFIG) --share $(CURDIR) -- $(CMD)

# User programs: no kernel build needed (lib/syslet/syslet.h, README.md).
headers:
	@$(TOOLS)/headers-install $(CURDIR)/include/uapi $(BUILD)/usr/include

lib: headers
	@$(LIBMAKE) all

deb:
	@$(TOOLS)/deb

install: lib
	@$(TOOLS)/headers-install $(CURDIR)/include/uapi $(DESTDIR)$(PREFIX)/include
	@$(LIBMAKE) DESTDIR=$(DESTDIR) install

endif
