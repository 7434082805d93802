// SPDX-License-Identifier: MIT
/*
 * init.c - initialization, version management and the library's logging.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgpu.h"

int vgpu_log_level;
struct vgpu_device_info vgpu_dev;
int vgpu_initialized;

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_result = 1;	/* init_lock: 1 = not tried yet */

static void log_setup(void)
{
	const char *s = getenv("VGPU_LOG_LEVEL");

	if (s && *s)
		vgpu_log_level = atoi(s) > 0 ? atoi(s) : 2;
}

/* Runs before main so that the log level is known to every entry point. */
__attribute__((constructor)) static void vgpu_ctor(void)
{
	pthread_once(&log_once, log_setup);
}

/**
 * vgpu_log() - write one log line to stderr
 * @level: 1 error, 2 warning, 3 info, 4 debug
 * @fmt: printf format
 *
 * Only reached when VGPU_LOG_LEVEL asks for @level.
 */
void vgpu_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "", "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "libvgpu[%d]: %s: ", (int)getpid(),
		     names[level < 1 || level > 4 ? 4 : level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	/* One write keeps lines of several threads apart. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

static int fetch_info(void)
{
	struct vgpu_req_hdr h;
	struct vgpu_resp_info r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	int i, err;

	vgpu_hdr(&h, VGPU_CMD_GET_INFO, 0, 0, sizeof(h));
	err = vgpu_tp_call(&c, &h, sizeof(h), NULL, 0);
	if (err)
		return err;
	memcpy(vgpu_dev.name, r.name, sizeof(vgpu_dev.name));
	vgpu_dev.name[sizeof(vgpu_dev.name) - 1] = 0;
	memcpy(vgpu_dev.uuid, r.uuid, sizeof(vgpu_dev.uuid));
	vgpu_dev.total_mem = r.total_mem;
	vgpu_dev.driver_version = r.driver_version;
	vgpu_dev.features = r.features;
	for (i = 0; i < VGPU_NUM_ATTRS; i++)
		vgpu_dev.attrs[i] = (int)r.attrs[i];
	if (r.version != VGPU_PROTOCOL_VERSION)
		vgpu_warn("vgpud speaks protocol %u, library %u", r.version,
			  VGPU_PROTOCOL_VERSION);
	return 0;
}

/*
 * VGPU_TENANT names the tenant this process belongs to, so that processes
 * of one tenant share its weight, cap and memory quota (VGPU_CMD_HELLO).
 * Sent before GET_INFO, whose total memory then is the tenant's quota.  A
 * refusal (a bad name, a transport where the VM is the tenant) leaves the
 * process its own tenant, as without the variable.
 */
static void send_hello(void)
{
	const char *name = getenv("VGPU_TENANT");
	struct vgpu_req_hdr h;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	size_t n;
	int err;

	if (!name || !*name)
		return;
	n = strlen(name) + 1;
	if (n > 64) {
		vgpu_warn("VGPU_TENANT longer than 63 characters: ignored");
		return;
	}
	vgpu_hdr(&h, VGPU_CMD_HELLO, 0, 0, sizeof(h) + n);
	err = vgpu_tp_call(&c, &h, sizeof(h), name, n);
	if (err)
		vgpu_warn("tenant '%s' refused by vgpud (%d)", name, err);
}

static int init_once(void)
{
	int err = vgpu_tp_open();

	if (err)
		return -ENODEV;
	send_hello();
	err = fetch_info();
	if (err) {
		vgpu_err("GET_INFO failed (%d)", err);
		return -ENODEV;
	}
	return 0;
}

/**
 * cuInit() - connect to vgpud and learn the device
 * @Flags: must be 0
 *
 * Return: CUDA_SUCCESS, CUDA_ERROR_INVALID_VALUE for non-zero flags,
 * CUDA_ERROR_NO_DEVICE when vgpud cannot be reached.
 */
VGPU_API CUresult cuInit(unsigned int Flags)
{
	int err;

	pthread_once(&log_once, log_setup);
	if (Flags)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&init_lock);
	/* A failed attempt is retried: the daemon may have started since. */
	if (init_result != 0) {
		init_result = init_once();
		if (!init_result)
			__atomic_store_n(&vgpu_initialized, 1, __ATOMIC_RELEASE);
	}
	err = init_result;
	pthread_mutex_unlock(&init_lock);
	return vgpu_result(err);
}

int vgpu_check_init(void)
{
	return __atomic_load_n(&vgpu_initialized, __ATOMIC_ACQUIRE) ? 0 : -ENOTCONN;
}

/**
 * cuDriverGetVersion() - the CUDA driver API version this library implements
 * @driverVersion: out
 *
 * Works before cuInit(), like the real driver.
 *
 * Return: CUDA_SUCCESS or CUDA_ERROR_INVALID_VALUE.
 */
VGPU_API CUresult cuDriverGetVersion(int *driverVersion)
{
	if (!driverVersion)
		return CUDA_ERROR_INVALID_VALUE;
	*driverVersion = CUDA_VERSION;
	return CUDA_SUCCESS;
}
