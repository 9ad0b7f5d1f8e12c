# tools/gdb/gdb.mk: debugging the kernel under GDB at source level, as
# xv6's `make qemu-gdb` does; included by the top Makefile (which defines
# B, IMAGE, PYTHON).
#
#   make qemu-gdb   QEMU + OVMF waiting for GDB before the first instruction,
#                   the serial console on this terminal
#   make gdb        GDB attached to it, with build/kernel.elf's symbols and
#                   source and the runtime's helpers (tools/gdb/morestack.py);
#                   with no `make qemu-gdb` running, it starts QEMU itself in
#                   the background (QEMU's window: screen and keyboard; the
#                   serial output in build/gdb-serial.log) and stops it after
#
# The GDB server listens on 127.0.0.1 only, on a port of its own for each
# user (id -u % 5000 + 25000, as xv6 picks it), so that the users of one
# machine do not meet; GDB_PORT=N overrides it.
GDB_PORT ?= $(shell echo $$(( $$(id -u) % 5000 + 25000 )))
GDB ?= gdb

.PHONY: qemu-gdb gdb $(B)/gdbinit
# Written again every time: it names this user's port, and this tree.
$(B)/gdbinit: tools/gdb/gdbinit.in
	@mkdir -p $(dir $@)
	@sed -e 's|@TARGET@|127.0.0.1:$(GDB_PORT)|' -e 's|@TOP@|$(CURDIR)|' $< > $@.tmp && mv $@.tmp $@

qemu-gdb: $(IMAGE) $(B)/gdbinit
	@echo "*** QEMU waits for GDB on 127.0.0.1:$(GDB_PORT): run 'make gdb' in another terminal"
	$(PYTHON) ovmf/qemu.py run $(IMAGE) --gdb-port $(GDB_PORT)

gdb: $(IMAGE) $(B)/gdbinit
	@$(PYTHON) tools/gdb/session.py --port $(GDB_PORT) --image $(IMAGE) --gdbinit $(B)/gdbinit \
		--gdb $(GDB) --serial-log $(B)/gdb-serial.log
