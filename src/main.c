/* SPDX-License-Identifier: MIT */
/*
 * x86v: command line → machine configuration → run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api.h"
#include "core/cmdline.h"
#include "core/hostinfo.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "core/vm.h"
#include "core/vm_json.h"
#include "engine/engine.h"

static int run_vm(const struct vm_config *cfg)
{
	static struct vm vm; /* large; the process has exactly one */
	/* Nothing inherited beyond stdin, stdout and stderr stays open: a guest
	 * that took over x86v would find no descriptor it was not meant to have. */
	close_range(3, ~0U, 0);
	int status = vm_create(&vm, cfg);
	if (status == 0)
		status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}

/* --config-file: the whole machine, applied to cfg. 0 or an exit status. */
static int apply_config_file(struct vmj_state *st, const char *file)
{
	char why[320];
	json_object *json = json_object_from_file(file);
	if (!json) {
		const char *err = json_util_get_last_err();
		int n = err ? (int)strcspn(err, "\n") : 0;
		log_error("--config-file %s: %.*s", file, n, err ? err : "");
		return X86V_EXIT_USAGE;
	}
	int r = vmj_full(st, json, why, sizeof(why));
	if (r == 0)
		r = vmj_finish(st, why, sizeof(why));
	json_object_put(json);
	if (r < 0) {
		log_error("--config-file %s: %s", file, why);
		return X86V_EXIT_USAGE;
	}
	return 0;
}

/* --api-sock / --config-file: the machine is described in Firecracker's
 * JSON, and with the API built and started when a request says so. */
static int run_controlled(struct vm_config *cfg)
{
	static struct vm vm;
	close_range(3, ~0U, 0);
	struct vmj_state st = { .cfg = cfg };
	struct api *api = NULL;
	char why[320];
	int status = cfg->config_file ? apply_config_file(&st, cfg->config_file) : 0;
	if (status)
		return status;
	if (cfg->sandbox >= 0)
		sandbox_set_enabled(cfg->sandbox);
	sandbox_prepare(); /* before the API's thread */
	if (cfg->api_sock && api_open(cfg->api_sock, cfg, &api, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_USAGE;
	}
	bool paused = false;
	for (;;) {
		if (!cfg->config_file)
			paused = api_wait_start(api);
		status = vm_create(&vm, cfg);
		if (api)
			api_started(api, status ? NULL : &vm, status);
		if (status == 0)
			break;
		vm_destroy(&vm);
		if (cfg->config_file) {
			api_close(api);
			return status;
		}
	}
	vm.pause_requested = paused;
	status = vm_run(&vm);
	if (api)
		api_machine_ended(api);
	vm_destroy(&vm);
	api_close(api);
	vmj_free(&st);
	return status;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	char why[256];

	if (cmdline_parse(argc, argv, &cl, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_USAGE;
	}
	switch (cl.command) {
	case CMDLINE_HELP:
		cmdline_usage(stdout);
		return 0;
	case CMDLINE_VERSION:
		printf("x86v %s\n", X86V_VERSION);
		return 0;
	case CMDLINE_INFO:
		if (cl.info_engines) {
			for (size_t i = 0; engine_list[i]; i++)
				puts(engine_list[i]->name);
			return 0;
		}
		return hostinfo_report(stdout);
	case CMDLINE_RUN:
		break;
	}
	log_verbose = cl.cfg.verbose;
	if (!strcmp(cl.cfg.accel, "auto")) {
		struct hostinfo hi;
		char verdict[512];
		hostinfo_probe(&hi, NULL, NULL);
		cl.cfg.accel = hostinfo_auto_engine(hostinfo_verdict(&hi, verdict, sizeof(verdict)));
		log_info("--accel auto: the %s engine (%s)", cl.cfg.accel, verdict);
	}
	if (cl.cfg.api_sock || cl.cfg.config_file)
		return run_controlled(&cl.cfg);
	return run_vm(&cl.cfg);
}
