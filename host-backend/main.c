/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - vgpud: options, backend selection, sockets, signals and the
 * event loop that owns every connection.
 *
 * Follows QEMU's "backend program conventions" (docs/interop/vhost-user.rst):
 * --socket-path, --fd, --print-capabilities, no daemonizing, clean exit on
 * SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"
#include "vhost.h"

#define DEFAULT_SOCKET "/run/vgpud/vgpud.sock"
#define SHUTDOWN_WAIT_MS 10000

/* Set by the signal handler, read by the loop: nothing else in handlers. */
static volatile sig_atomic_t quit_signal;

static void on_signal(int sig)
{
    quit_signal = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: vgpud [OPTION]...\n"
"Shares one GPU (or its CPU simulation) among local clients and VMs.\n"
"\n"
"  --socket-path=PATH     client socket (default " DEFAULT_SOCKET ",\n"
"                         or $VGPU_SOCKET)\n"
"  --fd=FD                serve on an inherited socket instead: a listening\n"
"                         socket, or one connected client\n"
"  --admin-socket=PATH    admin socket (default: socket path + \".admin\")\n"
"  --backend=auto|sim|cuda  executor (default auto: cuda when a device is\n"
"                         usable, else sim)\n"
"  --threads=N            executor worker threads (0: one per core)\n"
"  --scheduler=wfq|fifo   order of work across tenants (default wfq:\n"
"                         weighted fair queueing per engine class; fifo:\n"
"                         arrival order, the benchmark baseline)\n"
"  --libcuda=PATH         cuda: the driver library to load (default\n"
"                         libcuda.so.1 from the library path)\n"
"  --watchdog-ms=N        a launch running longer poisons its context with\n"
"                         LAUNCH_TIMEOUT (default 0: no limit)\n"
"  --insn-budget=N        sim: thread-instructions a launch may run before it\n"
"                         ends with LAUNCH_TIMEOUT (default 0: 2^36)\n"
"  --tenant name=NAME[,weight=W][,cap=C][,quota=BYTES]\n"
"                         configure a tenant (repeatable; overrides --config):\n"
"                         weight 0.001..1000000 (default 1), cap in (0,1]\n"
"                         (0: none), quota in bytes, K/M/G/T (0: none)\n"
"  --config=FILE          tenants, one per line in --tenant syntax, # comments\n"
"  --vm name=NAME,socket=PATH[,weight=W]%s\n"
"                         serve a VM's vgpu-virtio device on a vhost-user\n"
"                         socket, the VM a tenant of that weight (repeatable)\n"
"  --log-level=error|warn|info|debug  (default info)\n"
"  --print-capabilities   print the JSON capabilities descriptor and exit\n"
"  -h, --help             this text\n"
"  -V, --version          version\n",
            VGPU_VHOST_AVAILABLE ? "" : "  (not in this build: no libvhost-user)");
}

static void print_capabilities(void)
{
    printf("{\n"
           "  \"type\": \"vgpu\",\n"
           "  \"protocol-version\": %d,\n"
           "  \"features\": [\n"
           "    \"socket-path\",\n"
           "    \"fd\",\n"
           "    \"admin-socket\",\n"
           "    \"backend\",\n"
           "    \"threads\",\n"
           "    \"scheduler\",\n"
           "    \"log-level\"%s\n"
           "  ],\n"
           "  \"backends\": [\"sim\", \"cuda\"]\n"
           "}\n", VGPU_PROTOCOL_VERSION,
           VGPU_VHOST_AVAILABLE ? ",\n    \"vm\"" : "");
}

/* --libcuda, --watchdog-ms and --insn-budget: read by backend_init only */
static VgpuExecConfig exec_cfg;

static int backend_init(VgpuServer *srv, const char *name, unsigned threads)
{
    VgpuExecConfig cfg = exec_cfg;
    char err[256] = "";
    int st;

    cfg.threads = threads;

    if (!strcmp(name, "cuda") || !strcmp(name, "auto")) {
        st = vgpu_exec_cuda_ops.init(&cfg, &srv->exec, err, sizeof(err));
        if (st == VGPU_S_OK) {
            srv->ops = &vgpu_exec_cuda_ops;
            srv->ops->device_info(srv->exec, &srv->info);
            vgpu_info("backend cuda: %s", srv->info.name);
            return 0;
        }
        if (!strcmp(name, "cuda")) {
            vgpu_error("--backend=cuda: no usable CUDA device: %s "
                       "(--backend=sim runs on the CPU)",
                       err[0] ? err : "initialisation failed");
            return -1;
        }
        vgpu_info("backend auto: no usable CUDA device (%s); using sim",
                  err[0] ? err : "initialisation failed");
    } else if (strcmp(name, "sim")) {
        vgpu_error("unknown backend '%s' (auto, sim or cuda)", name);
        return -1;
    }
    err[0] = '\0';
    st = vgpu_exec_sim_ops.init(&cfg, &srv->exec, err, sizeof(err));
    if (st != VGPU_S_OK) {
        vgpu_error("sim backend: %s", err[0] ? err : "initialisation failed");
        return -1;
    }
    srv->ops = &vgpu_exec_sim_ops;
    if (!strcmp(name, "sim")) {
        vgpu_info("backend sim");
    }
    return 0;
}

/*
 * Waits for events at most @timeout_ns (-1: no limit).  epoll_pwait2
 * keeps the scheduler's sub-millisecond deadlines; where the kernel lacks
 * it (before Linux 5.11) the wait falls back to whole milliseconds.
 */
static int loop_wait(VgpuServer *srv, struct epoll_event *evs, int max,
                     int64_t timeout_ns, const sigset_t *waitmask)
{
    static bool no_pwait2;
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000,
                           .tv_nsec = timeout_ns % 1000000000 };
    int n;

    if (!no_pwait2) {
        n = epoll_pwait2(srv->epfd, evs, max, timeout_ns < 0 ? NULL : &ts,
                         waitmask);
        if (n >= 0 || errno != ENOSYS) {
            return n;
        }
        no_pwait2 = true;
        vgpu_info("epoll_pwait2 unavailable: scheduler deadlines rounded "
                  "up to 1 ms");
    }
    return epoll_pwait(srv->epfd, evs, max,
                       timeout_ns < 0 ? -1 :
                       (int)((timeout_ns + 999999) / 1000000), waitmask);
}

static void loop_once(VgpuServer *srv, const sigset_t *waitmask,
                      int64_t timeout_ns)
{
    struct epoll_event evs[64];
    int n = loop_wait(srv, evs, 64, timeout_ns, waitmask);

    /* requests below then see every completion that already happened */
    vgpu_completions_drain(srv);
    for (int i = 0; i < n; i++) {
        void *tag = evs[i].data.ptr;

        switch (*(VgpuPollKind *)tag) {
        case VGPU_POLL_EVENTFD:
            vgpu_completions_ack(srv);
            break;
        case VGPU_POLL_LOCAL_LISTEN:
        case VGPU_POLL_LOCAL_CONN:
            vgpu_local_event(srv, tag, evs[i].events);
            break;
        case VGPU_POLL_ADMIN_LISTEN:
        case VGPU_POLL_ADMIN_CONN:
            vgpu_admin_event(srv, tag, evs[i].events);
            break;
        case VGPU_POLL_VHOST:
            vgpu_vhost_event(srv, tag, evs[i].events);
            break;
        }
    }
    /* every iteration, not only on the eventfd: see vgpu_completions_drain */
    vgpu_completions_drain(srv);
    vgpu_local_flush(srv);
    vgpu_vhost_flush(srv);
}

#define MAX_TENANT_SPECS 256

static const VgpuPollKind evfd_tag = VGPU_POLL_EVENTFD;

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket-path", required_argument, NULL, 's' },
        { "fd", required_argument, NULL, 'f' },
        { "admin-socket", required_argument, NULL, 'a' },
        { "backend", required_argument, NULL, 'b' },
        { "threads", required_argument, NULL, 't' },
        { "scheduler", required_argument, NULL, 'S' },
        { "libcuda", required_argument, NULL, 'c' },
        { "watchdog-ms", required_argument, NULL, 'w' },
        { "insn-budget", required_argument, NULL, 'I' },
        { "log-level", required_argument, NULL, 'l' },
        { "vm", required_argument, NULL, 'm' },
        { "tenant", required_argument, NULL, 'T' },
        { "config", required_argument, NULL, 'C' },
        { "print-capabilities", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    VgpuOptions o = { .backend = "auto", .fd = -1 };
    const VgpuRunqPolicy *policy = &vgpu_runq_wfq;
    const char *tenant_specs[MAX_TENANT_SPECS];
    const char *config_path = NULL;
    int ntenant_specs = 0;
    VgpuServer srv = { 0 };
    struct epoll_event ev = { .events = EPOLLIN };
    struct sigaction sa = { .sa_handler = on_signal };
    sigset_t block, waitmask;
    char *admin_default = NULL;
    char *end;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.socket_path = optarg;
            break;
        case 'f':
            errno = 0;
            o.fd = (int)strtol(optarg, &end, 10);
            if (errno || *end || o.fd < 0) {
                fprintf(stderr, "vgpud: bad --fd '%s'\n", optarg);
                return 1;
            }
            break;
        case 'a':
            o.admin_path = optarg;
            break;
        case 'b':
            o.backend = optarg;
            break;
        case 't':
            errno = 0;
            o.threads = (unsigned)strtoul(optarg, &end, 10);
            if (errno || *end || o.threads > 1024) {
                fprintf(stderr, "vgpud: bad --threads '%s'\n", optarg);
                return 1;
            }
            break;
        case 'c':
            exec_cfg.libcuda_path = optarg;
            break;
        case 'w':
            errno = 0;
            exec_cfg.watchdog_ms = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-') {
                fprintf(stderr, "vgpud: bad --watchdog-ms '%s'\n", optarg);
                return 1;
            }
            break;
        case 'I':
            errno = 0;
            exec_cfg.insn_budget = strtoull(optarg, &end, 10);
            if (errno || *end || !optarg[0] || optarg[0] == '-') {
                fprintf(stderr, "vgpud: bad --insn-budget '%s'\n", optarg);
                return 1;
            }
            break;
        case 'S':
            if (!strcmp(optarg, "fifo")) {
                policy = &vgpu_runq_fifo;
            } else if (!strcmp(optarg, "wfq")) {
                policy = &vgpu_runq_wfq;
            } else {
                fprintf(stderr, "vgpud: bad --scheduler '%s' (fifo or wfq)\n",
                        optarg);
                return 1;
            }
            break;
        case 'l':
            vgpu_log_level = vgpu_log_parse_level(optarg);
            if (vgpu_log_level < 0) {
                fprintf(stderr, "vgpud: bad --log-level '%s'\n", optarg);
                return 1;
            }
            break;
        case 'T':
            if (ntenant_specs >= MAX_TENANT_SPECS) {
                fprintf(stderr, "vgpud: too many --tenant options\n");
                return 1;
            }
            tenant_specs[ntenant_specs++] = optarg;
            break;
        case 'C':
            config_path = optarg;
            break;
        case 'm':
            if (!VGPU_VHOST_AVAILABLE) {
                fprintf(stderr, "vgpud: --vm: built without vhost-user\n");
                return 1;
            }
            if (vgpu_vhost_add_vm(optarg) < 0) {
                return 1;
            }
            break;
        case 'p':
            print_capabilities();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("vgpud %s (protocol %d)\n", VGPUD_VERSION,
                   VGPU_PROTOCOL_VERSION);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }
    if (!o.socket_path) {
        o.socket_path = getenv("VGPU_SOCKET");
        if (!o.socket_path || !*o.socket_path) {
            o.socket_path = DEFAULT_SOCKET;
        }
    }
    if (!o.admin_path) {
        if (asprintf(&admin_default, "%s.admin", o.socket_path) < 0) {
            return 1;
        }
        o.admin_path = admin_default;
    }

    /*
     * Signals are blocked everywhere (executor threads inherit this) and
     * delivered only inside epoll_pwait, so a signal can never slip in
     * between the flag check and the wait.
     */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&srv.cq_lock, NULL);
    srv.epfd = epoll_create1(EPOLL_CLOEXEC);
    srv.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv.epfd < 0 || srv.evfd < 0) {
        vgpu_error("epoll/eventfd: %s", strerror(errno));
        goto out;
    }
    ev.data.ptr = (void *)&evfd_tag;
    if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.evfd, &ev) < 0) {
        vgpu_error("epoll_ctl: %s", strerror(errno));
        goto out;
    }
    if (backend_init(&srv, o.backend, o.threads) < 0) {
        goto out;
    }
    srv.ops->device_info(srv.exec, &srv.info);
    vgpu_runq_init(&srv, policy);
    if (!srv.policy_data) {
        vgpu_error("out of memory");
        goto out_exec;
    }
    /* the file first, so that the command line overrides it */
    if (config_path && vgpu_acct_load_file(&srv, config_path) < 0) {
        goto out_runq;
    }
    for (int i = 0; i < ntenant_specs; i++) {
        char err[256];

        if (vgpu_acct_configure(&srv, tenant_specs[i], true, err,
                                sizeof(err)) < 0) {
            fprintf(stderr, "vgpud: --tenant %s: %s\n", tenant_specs[i], err);
            goto out_runq;
        }
    }

    c = vgpu_local_open(&srv, o.socket_path, o.fd);
    if (c < 0) {
        vgpu_error("client socket %s: %s",
                   o.fd >= 0 ? "(--fd)" : o.socket_path, strerror(-c));
        goto out_sockets;
    }
    c = vgpu_admin_open(&srv, o.admin_path);
    if (c < 0) {
        vgpu_error("admin socket %s: %s", o.admin_path, strerror(-c));
        goto out_sockets;
    }
    c = vgpu_vhost_open(&srv);
    if (c < 0) {
        goto out_sockets;
    }
    vgpu_info("listening on %s (admin %s), device \"%s\"",
              o.fd >= 0 ? "--fd" : o.socket_path, o.admin_path,
              srv.info.name);

    /*
     * The scheduler's deadlines hand work to the engine a few hundred
     * microseconds ahead; the default 50 us timer slack would eat into
     * that, so the loop thread asks for 1 us.
     */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    while (!quit_signal) {
        loop_once(&srv, &waitmask, vgpu_runq_timeout_ns(&srv, vgpu_now_ns()));
    }
    vgpu_info("signal %d: shutting down", (int)quit_signal);
    rc = 0;

out_sockets:
    vgpu_admin_close(&srv);
    vgpu_local_close(&srv);
    vgpu_vhost_close(&srv);
    /* contexts go once their in-flight work completed */
    for (int waited = 0; srv.tenants && waited < SHUTDOWN_WAIT_MS;
         waited += 100) {
        loop_once(&srv, &waitmask, 100);
    }
    if (srv.tenants) {
        vgpu_error("executor work still in flight at exit");
    }
    vgpu_vhost_fini(&srv);
out_runq:
    vgpu_runq_fini(&srv);
out_exec:
    if (!srv.tenants) {
        srv.ops->fini(srv.exec);
    }
    while (srv.free_work) {
        VgpuWork *w = srv.free_work;

        srv.free_work = w->next;
        free(w);
    }
out:
    if (srv.evfd >= 0) {
        close(srv.evfd);
    }
    if (srv.epfd >= 0) {
        close(srv.epfd);
    }
    pthread_mutex_destroy(&srv.cq_lock);
    free(admin_default);
    return rc;
}
