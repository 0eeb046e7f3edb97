/* SPDX-License-Identifier: MIT */
/*
 * x86v: command line → machine configuration → run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cmdline.h"
#include "core/hostinfo.h"
#include "core/log.h"
#include "core/vm.h"
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
	return run_vm(&cl.cfg);
}
