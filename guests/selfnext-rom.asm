; SPDX-License-Identifier: MIT
;
; selfnext-rom: selfmod-rom plus a store that patches the very next
; instruction, with no jump in between (SDM Vol. 3A §8.1.3: a write to the
; linear address of code is seen by the following instruction fetches).
; Expected: tests/guest/selfnext.out, exit status 3.

%define SELFMOD_NEXT
%include "selfmod-rom.asm"
