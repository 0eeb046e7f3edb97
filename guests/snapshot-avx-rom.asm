; SPDX-License-Identifier: MIT
;
; snapshot-avx-rom: snapshot-rom with AVX state (YMM1, upper halves included) in
; what the snapshot must carry: kvm only, the soft CPU has no AVX.
; Expected: tests/guest/snapshot-avx-to-kvm.out, exit status 3.

%define SNAPSHOT_AVX
%include "snapshot-rom.asm"
