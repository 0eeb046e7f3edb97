/* SPDX-License-Identifier: MIT */
/*
 * What the control API does to a running machine (vm.h): pause and resume,
 * snapshots of a paused machine, Ctrl+Alt+Del. The vCPU threads park at
 * their pause points (core/vm_cpu.c) and the BSP's does the work that needs
 * the vCPU (KVM wants its ioctls from the thread that made it); the API
 * thread asks and waits on api_cond.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/vm.h"
#include "hw/pc/board.h"

/* Every vCPU thread in its run loop is parked (lock held). */
static bool all_parked(const struct vm *vm)
{
	return vm->nparked == vm->nrunning;
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_requested) {
		vm->pause_requested = true;
		vclock_pause(&vm->clock);
	}
	vm_kick_all(vm);
	while (!all_parked(vm) && !vm->exit_requested)
		pthread_cond_wait(&vm->api_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested) {
		vm->pause_requested = false;
		vclock_resume(&vm->clock);
	}
	vm_kick_all(vm);
	while (vm->nparked && !vm->exit_requested)
		pthread_cond_wait(&vm->api_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

int vm_snapshot_paused(struct vm *vm, const char *path, const char *mem, char *why, size_t why_len)
{
	/* The directory is opened here: the vCPU thread's sandbox lets it
	 * create files only under the descriptor number it already has. */
	int r = snapshot_prepare(vm, path, why, why_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_requested || !all_parked(vm) || !vm->nrunning) {
		pthread_mutex_unlock(&vm->lock);
		snprintf(why, why_len, "the microVM must be paused to create a snapshot");
		return -EBUSY;
	}
	vm->api_snapshot = path;
	vm->api_snapshot_mem = mem;
	vm->api_snapshot_done = false;
	vm_kick_all(vm);
	while (!vm->api_snapshot_done && !vm->exit_requested)
		pthread_cond_wait(&vm->api_cond, &vm->lock);
	r = vm->api_snapshot_done ? vm->api_snapshot_result : -ECANCELED;
	snprintf(why, why_len, "%s", vm->api_snapshot_done ? vm->api_snapshot_why : "the machine stopped");
	vm->api_snapshot = NULL;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int vm_ctrl_alt_del(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int r = board_ctrl_alt_del(vm->board);
	pthread_mutex_unlock(&vm->lock);
	return r;
}
