# SPDX-License-Identifier: GPL-2.0-or-later
# Top-level build: recursion only.  Outputs go to build/ (BUILD=...).

BUILD ?= $(CURDIR)/build
export BUILD
export TOP := $(CURDIR)

# Components built on every host, in dependency order.
SUBDIRS := host-backend guest-userlib samples tests

.PHONY: all demo check bench install clean deps qemu $(SUBDIRS)

all: $(SUBDIRS)

$(SUBDIRS):
	$(MAKE) -C $@

# QEMU with the device, and libvhost-user from the same source, which vgpud
# compiles in; cached outside the checkout, so this takes seconds when warm.
qemu:
	scripts/build-qemu.sh

host-backend: qemu
guest-userlib samples tests: host-backend
samples tests: guest-userlib
tests: samples

deps:
	scripts/deps.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

check: deps
	$(MAKE) all
	tests/run.sh

bench: all
	tests/bench/run.sh

install: all
	for d in $(SUBDIRS); do $(MAKE) -C $$d install || exit 1; done

clean:
	for d in $(SUBDIRS); do $(MAKE) -C $$d clean || exit 1; done
	rm -rf $(BUILD)
