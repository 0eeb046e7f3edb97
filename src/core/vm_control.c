/* SPDX-License-Identifier: MIT */
/*
 * What the control API does to a running machine (vm.h): pause and resume,
 * snapshots of a paused machine, Ctrl+Alt+Del. The vCPU thread does the
 * work that needs the vCPU (KVM wants its ioctls from the thread that made
 * it); the API thread asks and waits on api_cond.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/vm.h"
#include "hw/pc/board.h"

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	pthread_cond_broadcast(&vm->vcpu_wake);
	if (vm->vcpu)
		vm->eng_ops->kick(vm->vcpu);
	while (!vm->vcpu_paused && !vm->exit_requested && vm->vcpu_started)
		pthread_cond_wait(&vm->api_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->vcpu_wake);
	while (vm->vcpu_paused && !vm->exit_requested)
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
	if (!vm->vcpu_paused) {
		pthread_mutex_unlock(&vm->lock);
		snprintf(why, why_len, "the microVM must be paused to create a snapshot");
		return -EBUSY;
	}
	vm->api_snapshot = path;
	vm->api_snapshot_mem = mem;
	vm->api_snapshot_done = false;
	pthread_cond_broadcast(&vm->vcpu_wake);
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

void vm_pause_point(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_requested || vm->exit_requested) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vclock_pause(&vm->clock);
	vm->vcpu_paused = true;
	pthread_cond_broadcast(&vm->api_cond);
	while (vm->pause_requested && !vm->exit_requested) {
		if (vm->api_snapshot && !vm->api_snapshot_done) {
			const char *path = vm->api_snapshot, *mem = vm->api_snapshot_mem;
			char why[320] = "";
			pthread_mutex_unlock(&vm->lock);
			int r = snapshot_save_named(vm, path, mem, why, sizeof(why));
			pthread_mutex_lock(&vm->lock);
			vm->api_snapshot_result = r;
			snprintf(vm->api_snapshot_why, sizeof(vm->api_snapshot_why), "%s", why);
			vm->api_snapshot_done = true;
			pthread_cond_broadcast(&vm->api_cond);
			continue;
		}
		pthread_cond_wait(&vm->vcpu_wake, &vm->lock);
	}
	vm->vcpu_paused = false;
	vclock_resume(&vm->clock);
	pthread_cond_broadcast(&vm->api_cond);
	pthread_mutex_unlock(&vm->lock);
}
