# bareiommu build.  ARCH=x86_64 | aarch64 (UEFI images) | host (core + unit tests).
# make run    build, install what is missing, boot QEMU q35 + OVMF + VT-d + edu, run the suite;
#             exits with the verdict against tests/qemu/expect/vtd-legacy.expect
# make check  host unit tests (ASan/UBSan) + the QEMU conformance matrix
# make bench  benchmarks;  make fuzz  bounded fuzzing runs;  make deps  install packages
ARCH ?= x86_64
B ?= build
export BUILD_DIR := $(abspath $(B))
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

CORE_SRCS := arch/poll.c \
  boot/acpi.c boot/acpi_dmar.c boot/acpi_ivrs.c boot/acpi_iort.c boot/pci.c boot/platform.c \
  boot/report.c boot/cmdline.c boot/console.c boot/suite.c \
  iommu/iommu.c iommu/regfield.c \
  iommu/vtd/vtd_caps.c iommu/vtd/vtd.c iommu/vtd/vtd_tables.c iommu/vtd/vtd_inv.c \
  iommu/pgtable/pgtable.c iommu/pgtable/fmt_vtd_ss.c iommu/pgtable/fmt_x86_64.c \
  iommu/pgtable/fmt_amd_v1.c iommu/pgtable/fmt_arm_lpae.c iommu/core/core.c iommu/core/dirty.c iommu/core/group.c iommu/core/container.c \
  iommu/core/aux.c iommu/vtd/vtd_pasid.c iommu/smmuv3/smmu_pasid.c iommu/amd/amd_pasid.c \
  iommu/amd/amd.c iommu/amd/amd_tables.c iommu/amd/amd_cmd.c \
  iommu/amd/amd_caps.c iommu/smmuv3/smmu_caps.c iommu/smmuv3/smmu.c iommu/smmuv3/smmu_tables.c \
  iommu/smmuv3/smmu_queue.c iommu/initiator/initiator.c iommu/initiator/edu.c \
  iommu/initiator/model_engine.c iommu/initiator/nvme.c iommu/initiator/nvme_cmd.c \
  ioasid/ioasid.c \
  tests/scenarios/scenarios.c tests/scenarios/discover.c tests/scenarios/ioasid.c \
  tests/scenarios/dma_env.c tests/scenarios/dma.c tests/scenarios/aux.c tests/scenarios/dirty_aux.c tests/scenarios/dirty.c \
  tests/scenarios/machinery.c tests/scenarios/group.c
FW_SRCS := boot/efi_main.c boot/console_uefi.c boot/mem_uefi.c boot/esp_uefi.c boot/initiator_uefi.c \
  boot/newlib_syscalls.c

WARN := -Wall -Wextra -Werror -Wvla -Wshadow -Wstrict-prototypes
STD := -std=c11 -D_DEFAULT_SOURCE

.SECONDARY:
.PHONY: all run check bench fuzz image clean deps test host-tests qemu-matrix print-core-srcs
all: image

deps:
	$(Q)bash scripts/deps.sh

# ---------------------------------------------------------------- firmware images
ifeq ($(ARCH),x86_64)
CROSS :=
GNUEFI_INC := /usr/include/efi
GNUEFI_LIB := /usr/lib
ARCH_SRCS := arch/x86/arch_x86.c
ARCH_CFLAGS := -mno-red-zone -DGNU_EFI_USE_MS_ABI -maccumulate-outgoing-args
EFI_NAME := BOOTX64.EFI
OBJCOPY_FMT := --target=efi-app-x86_64 --subsystem=10
OBJCOPY_SECTIONS := -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
  -j .rel.* -j .rela.* -j .reloc
else ifeq ($(ARCH),aarch64)
CROSS := aarch64-linux-gnu-
GNUEFI_INC := $(B)/deps/gnu-efi-aarch64/usr/include/efi
GNUEFI_LIB := $(B)/deps/gnu-efi-aarch64/usr/lib
ARCH_SRCS := arch/arm64/arch_arm64.c
ARCH_CFLAGS := -mstrict-align
ARCH_LDFLAGS := --defsym=EFI_SUBSYSTEM=0xa
EFI_NAME := BOOTAA64.EFI
# gnu-efi's aarch64 crt0 writes its own PE header; the image is the raw binary.
OBJCOPY_FMT := -O binary
OBJCOPY_SECTIONS := -j .text -j .dynamic -j .data -j .rela.dyn -j .rela.plt -j .rela.got \
  -j .rela.data -j .reloc
endif

ifneq ($(filter x86_64 aarch64,$(ARCH)),)
FW_DIR := $(B)/$(ARCH)
NEWLIB := $(B)/newlib/$(ARCH)
CC := $(CROSS)gcc
LD := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
FW_CFLAGS := $(STD) $(WARN) -O2 -g -ffreestanding -fpic -fshort-wchar -fno-stack-protector \
  -fno-strict-aliasing -fno-builtin-printf $(ARCH_CFLAGS) \
  -nostdinc -isystem $(NEWLIB)/include -isystem $(shell $(CROSS)gcc -print-file-name=include) \
  -isystem $(GNUEFI_INC) -isystem $(GNUEFI_INC)/$(ARCH) -I.
FW_OBJS := $(patsubst %.c,$(FW_DIR)/obj/%.o,$(CORE_SRCS) $(FW_SRCS) $(ARCH_SRCS))
LIBGCC := $(shell $(CROSS)gcc -print-libgcc-file-name)

image: $(FW_DIR)/$(EFI_NAME)

$(B)/deps/.stamp-$(ARCH): scripts/deps.sh
	$(Q)bash scripts/deps.sh
	$(Q)mkdir -p $(@D) && touch $@

$(NEWLIB)/.stamp: scripts/build-newlib.sh | $(B)/deps/.stamp-$(ARCH)
	$(Q)bash scripts/build-newlib.sh $(ARCH) $(abspath $(NEWLIB))

$(FW_DIR)/obj/%.o: %.c $(NEWLIB)/.stamp
	@mkdir -p $(@D)
	@echo "  CC [$(ARCH)] $<"
	$(Q)$(CC) $(FW_CFLAGS) -MMD -MP -c $< -o $@

$(FW_DIR)/bareiommu.so: $(FW_OBJS)
	@echo "  LD [$(ARCH)] $@"
	$(Q)$(LD) -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined \
	  -z common-page-size=4096 -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments $(ARCH_LDFLAGS) \
	  -T $(GNUEFI_LIB)/elf_$(ARCH)_efi.lds $(GNUEFI_LIB)/crt0-efi-$(ARCH).o \
	  $(FW_OBJS) -L$(GNUEFI_LIB) -lgnuefi $(NEWLIB)/lib/libc.a $(NEWLIB)/lib/libm.a $(LIBGCC) \
	  -o $@

$(FW_DIR)/$(EFI_NAME): $(FW_DIR)/bareiommu.so
	@echo "  EFI [$(ARCH)] $@"
	$(Q)$(OBJCOPY) $(OBJCOPY_SECTIONS) $(OBJCOPY_FMT) $< $@
	$(Q)bash linker/finish-image.sh $(ARCH) $@

-include $(FW_OBJS:.o=.d)
endif

# ---------------------------------------------------------------- host build + unit tests
HOST_DIR := $(B)/host
HOST_CC ?= gcc
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_CFLAGS := $(STD) $(WARN) -O1 -g $(SAN) -I. -DFIXTURE_DIR=\"$(CURDIR)/tests/unit/fixtures\"
HOST_SRCS := $(CORE_SRCS) arch/host/arch_host.c arch/host/mem_host.c
HOST_OBJS := $(patsubst %.c,$(HOST_DIR)/obj/%.o,$(HOST_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(HOST_DIR)/%,$(wildcard tests/unit/test_*.c))

ifeq ($(ARCH),host)
all: $(UNIT_TESTS)
endif

$(HOST_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC [host] $<"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(HOST_DIR)/libcore.a: $(HOST_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(HOST_DIR)/test_%: $(HOST_DIR)/obj/tests/unit/test_%.o $(HOST_DIR)/obj/tests/unit/fixture.o $(HOST_DIR)/libcore.a
	@echo "  LD [host] $@"
	$(Q)$(HOST_CC) $(SAN) $^ -lcmocka -o $@

-include $(HOST_OBJS:.o=.d) $(wildcard $(HOST_DIR)/obj/tests/unit/*.d)

host-tests: $(UNIT_TESTS)
	$(Q)bash scripts/run-unit-tests.sh $(UNIT_TESTS)

# ---------------------------------------------------------------- top-level targets
run:
	$(Q)bash scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory ARCH=x86_64 image
	$(Q)bash tests/qemu/run.sh --interactive vtd-legacy

check:
	$(Q)bash scripts/check.sh

qemu-matrix:
	$(Q)$(MAKE) --no-print-directory ARCH=x86_64 image
	$(Q)$(MAKE) --no-print-directory ARCH=aarch64 image
	$(Q)bash tests/qemu/run-matrix.sh

bench:
	$(Q)bash scripts/bench.sh

# The core's sources, for benchmarks that link all of it (scripts/bench.sh, "@core").
print-core-srcs:
	@echo $(CORE_SRCS) arch/host/arch_host.c arch/host/mem_host.c

fuzz:
	$(Q)bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(B)/x86_64 $(B)/aarch64 $(B)/host $(B)/results $(B)/qemu $(B)/fuzz $(B)/bench

# ---- host models (issue 7)
# Functional hardware models (tests/model/) behind the host arch, and the firmware's flow as a
# host program (arch/host/host_main.c): make ARCH=host also builds $(HOST_DIR)/bareiommu-host;
# make host-model runs every tests/model/configs/*.conf and judges it (scripts/model-matrix.sh).
MODEL_SRCS := tests/model/pci_model.c tests/model/vtd_model.c tests/model/vtd_kind.c tests/model/dma_engine.c \
  tests/model/nvme_model.c tests/model/platform_model.c arch/host/host_boot.c tests/model/amd_model.c tests/model/amd_kind.c tests/model/smmu_model.c tests/model/smmu_kind.c
MODEL_OBJS := $(patsubst %.c,$(HOST_DIR)/obj/%.o,$(MODEL_SRCS))
HOST_BIN := $(HOST_DIR)/bareiommu-host
MODEL_UNIT_TESTS := $(filter $(HOST_DIR)/test_model_%,$(UNIT_TESTS))

ifeq ($(ARCH),host)
all: $(HOST_BIN)
endif

$(HOST_DIR)/libmodel.a: $(MODEL_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(HOST_BIN): $(HOST_DIR)/obj/arch/host/host_main.o $(HOST_DIR)/libmodel.a $(HOST_DIR)/libcore.a
	@echo "  LD [host] $@"
	$(Q)$(HOST_CC) $(SAN) $^ -o $@

# Host tests that build a whole model platform link the model library before the core.
$(MODEL_UNIT_TESTS): $(HOST_DIR)/test_model_%: $(HOST_DIR)/obj/tests/unit/test_model_%.o \
  $(HOST_DIR)/obj/tests/unit/fixture.o $(HOST_DIR)/obj/tests/unit/model_run.o \
  $(HOST_DIR)/libmodel.a $(HOST_DIR)/libcore.a
	@echo "  LD [host] $@"
	$(Q)$(HOST_CC) $(SAN) $^ -lcmocka -o $@

-include $(MODEL_OBJS:.o=.d) $(wildcard $(HOST_DIR)/obj/arch/host/host_main.d)

.PHONY: host-model clean-model
host-model:
	$(Q)$(MAKE) --no-print-directory ARCH=host $(HOST_BIN)
	$(Q)bash scripts/model-matrix.sh

clean: clean-model
clean-model:
	rm -rf $(B)/model-results
