; SPDX-License-Identifier: MIT
;
; pagingprot-rom: paging64-rom plus the supervisor and key protections of
; user pages: SMEP and SMAP (CR4 bits 20 and 21) and protection keys (CR4.PKE,
; PKRU). Expected: tests/guest/pagingprot.out, exit status 3.

%define PAGING_PROT
%include "paging64-rom.asm"
