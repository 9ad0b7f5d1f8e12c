# tools/usb.mk: the disk image (make image), the USB stick (make usb), the
# Secure Boot test image and the tools suite; included by the top Makefile
# (which defines B, IMAGE, IMAGE_MB, RESULTS, PYTHON).
#
#   make usb                          build the stick's image (no root needed)
#   make usb DEV=/dev/sdX             write it to a USB stick: checked, confirmed, verified
#   make usb DEV=file.img DRYRUN=1    rehearse on an image file
#   make usb SIGN=key.pem,cert.pem    sign BOOTX64.EFI with your keys first (Secure Boot)
#   YES=sdX confirms without asking (it must still name the disk).

# The layout: a GPT disk with one FAT32 EFI system partition from 1 MiB to
# the last whole MiB before the backup GPT (the disk's last 33 sectors), so
# both ends fall on 2048-sector boundaries (sgdisk -v is clean: flash erase
# blocks and encryption tools want that). The FAT boot sector's hidden
# sectors field is the partition's start LBA, as firmware and fsck expect
# (mformat writes 0 unless told).
ESP_START := 2048
ESP_SECTORS := $(shell echo $$(( $(IMAGE_MB) * 2048 - 2 * $(ESP_START) )))
ESP_END := $(shell echo $$(( $(ESP_START) + $(ESP_SECTORS) - 1 )))
ESP_OFFSET := $(shell echo $$(( $(ESP_START) * 512 )))

# $(call esp_image,EFI,OUT): the disk image OUT with EFI as /EFI/BOOT/BOOTX64.EFI.
define esp_image
	rm -f $(2).tmp
	truncate -s $(IMAGE_MB)M $(2).tmp
	sgdisk --clear --new=1:$(ESP_START):$(ESP_END) --typecode=1:ef00 \
		--change-name=1:MORESTACK $(2).tmp >/dev/null
	mformat -i $(2).tmp@@$(ESP_OFFSET) -F -c 1 -H $(ESP_START) -v MORESTACK \
		-T $(ESP_SECTORS) ::
	mmd -i $(2).tmp@@$(ESP_OFFSET) ::/EFI ::/EFI/BOOT
	mcopy -i $(2).tmp@@$(ESP_OFFSET) $(1) ::/EFI/BOOT/BOOTX64.EFI
	mv $(2).tmp $(2)
endef

$(IMAGE): $(B)/BOOTX64.EFI tools/usb.mk
	$(call esp_image,$<,$@)

# ---- Secure Boot ----
# The rehearsal image: BOOTX64.EFI signed with Debian's snakeoil test key,
# which OVMF_VARS_4M.snakeoil.fd enrolls (ovmf/qemu.py firmware=
# "secboot-snakeoil"). The key ships encrypted with the passphrase
# "snakeoil" (the ovmf package's README.Debian); sbsign would ask for it on
# the terminal, so openssl writes a plain copy under $(B) first.
SNAKEOIL_KEY := /usr/share/ovmf/PkKek-1-snakeoil.key
SNAKEOIL_CERT := /usr/share/ovmf/PkKek-1-snakeoil.pem
$(B)/snakeoil/key.pem: $(B)/.deps-ok
	@mkdir -p $(dir $@)
	(umask 077 && openssl pkey -in $(SNAKEOIL_KEY) -passin pass:snakeoil -out $@.tmp) && mv $@.tmp $@
$(B)/snakeoil/BOOTX64.EFI: $(B)/BOOTX64.EFI $(B)/snakeoil/key.pem tools/usb.py
	$(PYTHON) tools/usb.py sign --keys $(B)/snakeoil/key.pem,$(SNAKEOIL_CERT) $< $@
$(B)/morestack-snakeoil.img: $(B)/snakeoil/BOOTX64.EFI tools/usb.mk
	$(call esp_image,$<,$@)

# Images the QEMU tests boot beside $(IMAGE).
QEMU_TEST_IMAGES := $(B)/morestack-snakeoil.img

# ---- the stick ----
# With SIGN=KEY,CERT the stick gets a copy of BOOTX64.EFI signed with the
# user's keys, made again on every run (the keys live outside the build).
USB_SIGN_DIR := $(B)/signed
ifneq ($(strip $(SIGN)),)
USB_IMAGE := $(USB_SIGN_DIR)/morestack.img
else
USB_IMAGE := $(IMAGE)
endif

.PHONY: usb usb-sign-always
usb: $(USB_IMAGE)
ifneq ($(strip $(DEV)),)
	$(PYTHON) tools/usb.py write $(if $(DRYRUN),--dry-run) $(if $(YES),--yes '$(YES)') \
		'$(USB_IMAGE)' '$(DEV)'
else
	@echo "usb: $(USB_IMAGE) is ready; write it with: make usb DEV=/dev/sdX (lsblk names the stick)"
endif

$(USB_SIGN_DIR)/BOOTX64.EFI: $(B)/BOOTX64.EFI tools/usb.py usb-sign-always
	$(PYTHON) tools/usb.py sign --keys '$(SIGN)' $< $@
$(USB_SIGN_DIR)/morestack.img: $(USB_SIGN_DIR)/BOOTX64.EFI tools/usb.mk
	$(call esp_image,$<,$@)

# ---- the tools suite: tests/tools (Python unittest) ----
.PHONY: tools-test
tools-test: $(IMAGE)
	@mkdir -p $(RESULTS)
	$(PYTHON) tests/tools/run.py --counts $(RESULTS)/tools.counts
