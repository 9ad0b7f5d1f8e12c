# tools/usb.mk: the disk image (make image) and the USB stick (make usb),
# included by the top Makefile (which defines B, IMAGE, IMAGE_MB, RESULTS).

# A GPT disk with one FAT32 EFI system partition from sector 2048 to the last
# usable sector (the backup GPT takes the last 33): boots in QEMU and, written
# to a USB stick, on a PC.
$(IMAGE): $(B)/BOOTX64.EFI
	rm -f $@.tmp
	truncate -s $(IMAGE_MB)M $@.tmp
	sgdisk --clear --new=1:2048:0 --typecode=1:ef00 --change-name=1:MORESTACK $@.tmp >/dev/null
	mformat -i $@.tmp@@1M -F -c 1 -v MORESTACK -T $$(( $(IMAGE_MB) * 2048 - 34 - 2048 + 1 )) ::
	mmd -i $@.tmp@@1M ::/EFI ::/EFI/BOOT
	mcopy -i $@.tmp@@1M $< ::/EFI/BOOT/BOOTX64.EFI
	mv $@.tmp $@

# Images the QEMU tests boot beside $(IMAGE).
QEMU_TEST_IMAGES :=

.PHONY: tools-test
tools-test:
	@echo "tools-test: no tests yet"
