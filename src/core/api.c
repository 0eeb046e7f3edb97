/* SPDX-License-Identifier: MIT */
/*
 * The control API (api.h): request routing and Firecracker's bodies over
 * libmicrohttpd. Requests are handled one at a time (MHD's internal polling
 * thread); the state machine is Not started -> Running <-> Paused.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/api.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "core/snapshot.h"
#include "core/vm_json.h"

#define API_MAX_BODY (50 * 1024) /* Firecracker's payload limit */

enum api_state { API_NOT_STARTED, API_RUNNING, API_PAUSED, API_ENDED };

struct api {
	struct MHD_Daemon *mhd;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vmj_state st;
	enum api_state state;
	bool start_requested, start_paused, start_done;
	char *load_snapshot, *load_mem; /* PUT /snapshot/load: read on the main thread */
	int start_status;
	char start_why[320];
	struct vm *vm;
};

struct reply {
	unsigned status;
	json_object *body; /* NULL: no content */
};

static struct reply fault(const char *fmt, ...) PRINTF_LIKE(1, 2);
static struct reply fault(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	return (struct reply){ MHD_HTTP_BAD_REQUEST, o };
}

static const struct reply no_content = { MHD_HTTP_NO_CONTENT, NULL };

static const char *state_name(enum api_state s)
{
	switch (s) {
	case API_NOT_STARTED: return "Not started";
	case API_RUNNING: return "Running";
	case API_PAUSED: return "Paused";
	default: return "Stopped";
	}
}

/* Asks the main thread to start the machine and waits for the outcome (lock held). */
static struct reply start(struct api *api, bool paused)
{
	api->start_requested = true;
	api->start_paused = paused;
	api->start_done = false;
	pthread_cond_broadcast(&api->cond);
	while (!api->start_done)
		pthread_cond_wait(&api->cond, &api->lock);
	if (api->start_status)
		return fault("%s", api->start_why);
	return no_content;
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct reply actions(struct api *api, json_object *body)
{
	const char *type = str_field(body, "action_type");
	if (!type)
		return fault("missing field `action_type`");
	if (!strcmp(type, "InstanceStart")) {
		if (api->state != API_NOT_STARTED)
			return fault("The microVM is already running.");
		return start(api, false);
	}
	if (!strcmp(type, "SendCtrlAltDel")) {
		if (api->state != API_RUNNING && api->state != API_PAUSED)
			return fault("The microVM is not running.");
		int r = vm_ctrl_alt_del(api->vm);
		return r < 0 ? fault("The keyboard takes no keys now: %s", strerror(-r)) : no_content;
	}
	if (!strcmp(type, "FlushMetrics"))
		return no_content; /* x86v keeps no metrics file */
	return fault("unknown variant `%s`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel`", type);
}

static struct reply patch_vm(struct api *api, json_object *body)
{
	const char *state = str_field(body, "state");
	if (!state || (strcmp(state, "Paused") && strcmp(state, "Resumed")))
		return fault("state: expected `Paused` or `Resumed`");
	if (api->state != API_RUNNING && api->state != API_PAUSED)
		return fault("The microVM is not running.");
	if (!strcmp(state, "Paused")) {
		vm_pause(api->vm);
		api->state = API_PAUSED;
	} else {
		vm_resume(api->vm);
		api->state = API_RUNNING;
	}
	return no_content;
}

/* mem_file_path must name a file beside snapshot_path: its plain name. */
static const char *mem_beside(const char *snap, const char *mem)
{
	const char *ss = strrchr(snap, '/'), *ms = strrchr(mem, '/');
	size_t sd = ss ? (size_t)(ss - snap) : 0, md = ms ? (size_t)(ms - mem) : 0;
	if (sd != md || strncmp(snap, mem, sd))
		return NULL;
	return ms ? ms + 1 : mem;
}

static struct reply snapshot_create(struct api *api, json_object *body)
{
	const char *path = str_field(body, "snapshot_path"), *mem = str_field(body, "mem_file_path");
	const char *type = str_field(body, "snapshot_type");
	if (!path || !mem)
		return fault("missing field `%s`", path ? "mem_file_path" : "snapshot_path");
	if (type && strcmp(type, "Full"))
		return fault("snapshot_type %s: x86v writes Full snapshots", type);
	if (api->state != API_PAUSED)
		return fault("Create snapshot: the microVM must be paused (PATCH /vm {\"state\": \"Paused\"}).");
	const char *mem_name = mem_beside(path, mem);
	if (!mem_name)
		return fault("mem_file_path %s: x86v keeps the memory file in the directory of snapshot_path", mem);
	char why[320];
	if (vm_snapshot_paused(api->vm, path, mem_name, why, sizeof(why)) < 0)
		return fault("Create snapshot: %s", why);
	return no_content;
}

static struct reply snapshot_load(struct api *api, json_object *body)
{
	const char *path = str_field(body, "snapshot_path"), *mem = str_field(body, "mem_file_path");
	json_object *backend, *v;
	if (!mem && json_object_object_get_ex(body, "mem_backend", &backend)) {
		const char *kind = str_field(backend, "backend_type");
		if (kind && strcmp(kind, "File"))
			return fault("mem_backend %s: x86v maps memory files (File)", kind);
		mem = str_field(backend, "backend_path");
	}
	if (!path || !mem)
		return fault("missing field `%s`", path ? "mem_file_path" : "snapshot_path");
	if (api->state != API_NOT_STARTED)
		return fault("Loading a microVM snapshot not allowed after configuring boot-specific resources.");
	bool resume = false;
	if (json_object_object_get_ex(body, "resume_vm", &v))
		resume = json_object_get_boolean(v);
	api->load_snapshot = strdup(path);
	api->load_mem = strdup(mem);
	if (!api->load_snapshot || !api->load_mem)
		return fault("out of memory");
	return start(api, !resume);
}

/* The main thread (not yet in its sandbox) reads a snapshot's configuration. */
static int load_config(struct api *api, char *why, size_t why_len)
{
	const char *path = api->load_snapshot, *mem = api->load_mem;
	char *conf = NULL, *mem_name = NULL, what[256];
	int r = snapshot_read_config(path, &conf, &mem_name, what, sizeof(what));
	if (r < 0) {
		snprintf(why, why_len, "Load snapshot: %s", what);
		return r;
	}
	const char *want = mem_beside(path, mem);
	if (!want || strcmp(want, mem_name)) {
		snprintf(why, why_len, "Load snapshot: %s holds the memory of another snapshot (%s is this one's)", mem,
			 mem_name);
		r = -EINVAL;
	} else {
		json_object *cfg = json_tokener_parse(conf);
		if (!cfg || vmj_full(&api->st, cfg, what, sizeof(what)) < 0) {
			snprintf(why, why_len, "Load snapshot: its configuration: %s", cfg ? what : "not JSON");
			r = -EINVAL;
		}
		json_object_put(cfg);
	}
	free(conf);
	free(mem_name);
	if (r == 0)
		api->st.cfg->restore = strdup(path);
	return r;
}

static struct reply dispatch(struct api *api, const char *method, const char *url, json_object *body)
{
	char why[320];
	bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT"), patch = !strcmp(method, "PATCH");
	bool before = api->state == API_NOT_STARTED;
	if (get && !strcmp(url, "/")) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string("anonymous-instance"));
		json_object_object_add(o, "state", json_object_new_string(state_name(api->state)));
		json_object_object_add(o, "vmm_version", json_object_new_string(X86V_VERSION));
		json_object_object_add(o, "app_name", json_object_new_string("x86v"));
		return (struct reply){ MHD_HTTP_OK, o };
	}
	if (get && (!strcmp(url, "/vm/config") || !strcmp(url, "/machine-config"))) {
		json_object *o = vmj_to_json(&api->st);
		if (!strcmp(url, "/machine-config")) {
			json_object *mc = json_object_get(json_object_object_get(o, "machine-config"));
			json_object_put(o);
			o = mc;
		}
		return (struct reply){ MHD_HTTP_OK, o };
	}
	if ((put || patch) && !body)
		return fault("The body of the request is not valid JSON.");
	int r = 1;
	if (put && !strcmp(url, "/actions"))
		return actions(api, body);
	if (patch && !strcmp(url, "/vm"))
		return patch_vm(api, body);
	if (put && !strcmp(url, "/snapshot/create"))
		return snapshot_create(api, body);
	if (put && !strcmp(url, "/snapshot/load"))
		return snapshot_load(api, body);
	if (put && !strcmp(url, "/boot-source"))
		r = before ? vmj_boot_source(&api->st, body, why, sizeof(why)) : 2;
	else if (put && !strcmp(url, "/machine-config"))
		r = before ? vmj_machine_config(&api->st, body, why, sizeof(why)) : 2;
	else if (put && !strncmp(url, "/drives/", 8))
		r = before ? vmj_drive(&api->st, url + 8, body, why, sizeof(why)) : 2;
	else if (put && !strncmp(url, "/network-interfaces/", 20))
		r = before ? vmj_net(&api->st, url + 20, body, why, sizeof(why)) : 2;
	if (r == 2)
		return fault("The requested operation is not supported after starting the microVM.");
	if (r == 1)
		return fault("Invalid request method and/or path: %s %s.", method, url);
	return r < 0 ? fault("%s", why) : no_content;
}

struct request {
	char *data;
	size_t len;
	bool too_large;
};

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply rep)
{
	const char *text = rep.body ? json_object_to_json_string_ext(rep.body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "";
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (rep.body)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, rep.status, resp);
	MHD_destroy_response(resp);
	json_object_put(rep.body);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	(void)version;
	struct request *req = *con_cls;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (req->len + *upload_size > API_MAX_BODY) {
			req->too_large = true;
		} else {
			char *p = realloc(req->data, req->len + *upload_size + 1);
			if (!p)
				return MHD_NO;
			memcpy(p + req->len, upload, *upload_size);
			req->data = p;
			req->len += *upload_size;
			req->data[req->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_large)
		return send_reply(conn, fault("Request payload with size over %d bytes", API_MAX_BODY));
	json_object *body = NULL;
	if (req->len) {
		enum json_tokener_error err;
		body = json_tokener_parse_verbose(req->data, &err);
		if (!body)
			return send_reply(conn, fault("The body of the request is not valid JSON: %s",
						      json_tokener_error_desc(err)));
	}
	pthread_mutex_lock(&api->lock);
	struct reply rep = dispatch(api, method, url, body);
	pthread_mutex_unlock(&api->lock);
	json_object_put(body);
	return send_reply(conn, rep);
}

/* The server's thread filters itself when it first serves (it is created
 * before any filter, and has no start hook of its own). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	static __thread bool filtered;
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED && !filtered) {
		filtered = true;
		sandbox_enter(SANDBOX_API);
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct request *req = *con_cls;
	if (req) {
		free(req->data);
		free(req);
	}
	*con_cls = NULL;
}

int api_open(const char *path, struct vm_config *cfg, struct api **out, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, why_len, "--api-sock %s: path too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct api *api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->st.cfg = cfg;
	pthread_mutex_init(&api->lock, NULL);
	pthread_cond_init(&api->cond, NULL);
	snprintf(api->path, sizeof(api->path), "%s", path);
	api->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Owner-only: whoever may connect controls the machine. */
	mode_t old = umask(0177);
	int r = api->fd < 0 || bind(api->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(api->fd, 16) < 0
			? -errno
			: 0;
	umask(old);
	if (r < 0) {
		snprintf(why, why_len, "--api-sock %s: %s", path, strerror(-r));
		if (api->fd >= 0)
			close(api->fd);
		free(api);
		return r;
	}
	api->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, on_request, api,
				    MHD_OPTION_LISTEN_SOCKET, api->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
				    MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
				    MHD_OPTION_END);
	if (!api->mhd) {
		snprintf(why, why_len, "--api-sock %s: cannot start the HTTP server", path);
		unlink(path);
		close(api->fd);
		free(api);
		return -EIO;
	}
	*out = api;
	return 0;
}

bool api_wait_start(struct api *api)
{
	pthread_mutex_lock(&api->lock);
	for (;;) {
		while (!api->start_requested)
			pthread_cond_wait(&api->cond, &api->lock);
		api->start_requested = false;
		int r = api->load_snapshot ? load_config(api, api->start_why, sizeof(api->start_why)) : 0;
		free(api->load_snapshot);
		free(api->load_mem);
		api->load_snapshot = api->load_mem = NULL;
		if (r == 0)
			r = vmj_finish(&api->st, api->start_why, sizeof(api->start_why));
		if (r == 0)
			break;
		api->start_status = X86V_EXIT_USAGE;
		api->start_done = true;
		pthread_cond_broadcast(&api->cond);
	}
	bool paused = api->start_paused;
	pthread_mutex_unlock(&api->lock);
	return paused;
}

void api_started(struct api *api, struct vm *vm, int status)
{
	pthread_mutex_lock(&api->lock);
	api->start_status = status;
	if (status) {
		snprintf(api->start_why, sizeof(api->start_why), "%s", log_last_error()[0] ? log_last_error() : "failed");
		api->st.cfg->restore = NULL;
	} else {
		api->vm = vm;
		api->state = api->start_paused ? API_PAUSED : API_RUNNING;
	}
	api->start_done = true;
	pthread_cond_broadcast(&api->cond);
	pthread_mutex_unlock(&api->lock);
}

void api_machine_ended(struct api *api)
{
	pthread_mutex_lock(&api->lock);
	api->state = API_ENDED;
	api->vm = NULL;
	pthread_mutex_unlock(&api->lock);
}

void api_close(struct api *api)
{
	if (!api)
		return;
	MHD_stop_daemon(api->mhd);
	close(api->fd);
	/* The socket file stays, as Firecracker's does (remove it before the next
	 * start): the sandboxed main thread may not remove files. */
	pthread_cond_destroy(&api->cond);
	pthread_mutex_destroy(&api->lock);
	vmj_free(&api->st);
	free(api);
}
