; SPDX-License-Identifier: MIT
;
; snapshot-sse-rom: snapshot-rom with SSE state (XMM1) in what the snapshot
; must carry. Expected: tests/guest/snapshot-sse-*.out, exit status 3.

%define SNAPSHOT_SSE
%include "snapshot-rom.asm"
