; SPDX-License-Identifier: MIT
;
; paging1g-rom: paging64-rom with the 1 GiB page checks (CPUID 80000001h
; EDX[26]): a 1 GiB page translates, a read sets A and a write D in its PDPTE,
; reserved bit 13 in a 1 GiB PDPTE faults with err 9.
; Expected: tests/guest/paging1g.out, exit status 3.

%define PAGING_1G
%include "paging64-rom.asm"
