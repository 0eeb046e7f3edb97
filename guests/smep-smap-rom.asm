; SPDX-License-Identifier: MIT
;
; smep-smap-rom: paging64-rom plus SMEP and SMAP (CR4 bits 20 and 21): a
; supervisor fetch from a user page, supervisor reads of a user page with and
; without EFLAGS.AC (STAC/CLAC). Expected: tests/guest/smep-smap.out, exit
; status 3.

%define SMEP_SMAP
%include "paging64-rom.asm"
