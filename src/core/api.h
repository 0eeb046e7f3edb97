/* SPDX-License-Identifier: MIT */
/*
 * The control API: Firecracker's REST API (its OpenAPI description) on a Unix
 * socket, served by libmicrohttpd on a thread of its own. Before the machine
 * starts it configures it (PUT /boot-source, /machine-config, /drives/{id},
 * /network-interfaces/{id}) and starts it (PUT /actions InstanceStart) or
 * loads a snapshot (PUT /snapshot/load); afterwards it pauses and resumes it
 * (PATCH /vm), snapshots it (PUT /snapshot/create) and presses
 * Ctrl+Alt+Del (PUT /actions SendCtrlAltDel). GET / and GET /vm/config
 * report. Errors are 400 with {"fault_message": "..."}.
 *
 * The main thread owns the machine: it waits in api_wait_start until a
 * request asks for a start, builds the machine (vm_create), reports the
 * outcome with api_started (the request's reply), and runs it.
 */
#ifndef X86V_CORE_API_H
#define X86V_CORE_API_H

#include <stddef.h>

#include "core/compiler.h"
#include "core/vm.h"

struct api;

/* Listens on a new Unix socket at path (owner-only, refused if path exists).
 * cfg is the machine's configuration, which requests fill in. 0 or -errno with why. */
int api_open(const char *path, struct vm_config *cfg, struct api **out, char *why, size_t why_len) MUST_CHECK;
/* Main thread: waits for InstanceStart or a snapshot load; cfg is then complete.
 * Returns true when the paused state was asked for (resume_vm false). */
bool api_wait_start(struct api *api);
/* The outcome of vm_create for the waiting request: status 0 (vm runs from
 * now on, the API may touch it) or an exit status (the request fails with
 * the last error line; the API goes on waiting for a start). */
void api_started(struct api *api, struct vm *vm, int status);
/* The machine stopped: requests that need it fail from now on. */
void api_machine_ended(struct api *api);
void api_close(struct api *api);

#endif
