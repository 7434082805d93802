/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpuctl.c - command-line client of vgpud's admin socket.
 *
 * Commands are a table (name, handler): "list" prints one row per tenant
 * from the JSON line vgpud answers, with columns from a second table;
 * "set" changes a tenant's weight, cap or quota (checked here and again by
 * vgpud); "top" repeats the list; "metrics" prints it for Prometheus.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sched.h"      /* the weight range vgpud accepts */

#define DEFAULT_SOCKET "/run/vgpud/vgpud.sock"

/* ---- a small JSON reader, enough for vgpud's replies ------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct JVal JVal;
struct JVal {
    JType type;
    double num;
    bool b;
    char *str;          /* J_STR; also the key when inside an object */
    char *key;
    JVal *child;        /* J_ARR, J_OBJ: first element */
    JVal *next;
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

static JVal *jparse(const char **pp, int depth);

static char *jstring(const char **pp)
{
    const char *p = *pp + 1;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);

    while (s && *p && *p != '"') {
        char ch = *p++;

        if (ch == '\\') {
            ch = *p++;
            if (ch == 'u') {
                unsigned v = 0;

                if (sscanf(p, "%4x", &v) != 1) {
                    free(s);
                    return NULL;
                }
                p += 4;
                ch = v < 0x80 ? (char)v : '?';
            } else if (ch == 'n') {
                ch = '\n';
            } else if (ch == 't') {
                ch = '\t';
            } else if (!ch) {
                break;
            }
        }
        if (n + 2 > cap) {
            char *ns = realloc(s, cap *= 2);

            if (!ns) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        s[n++] = ch;
    }
    if (!s || *p != '"') {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    *pp = p + 1;
    return s;
}

static void jfree(JVal *v)
{
    while (v) {
        JVal *n = v->next;

        jfree(v->child);
        free(v->str);
        free(v->key);
        free(v);
        v = n;
    }
}

static JVal *jparse(const char **pp, int depth)
{
    const char *p = skip_ws(*pp);
    JVal *v;

    if (depth > 32) {
        return NULL;
    }
    v = calloc(1, sizeof(*v));
    if (!v) {
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        JVal **tail = &v->child;

        v->type = obj ? J_OBJ : J_ARR;
        p = skip_ws(p + 1);
        while (*p && *p != (obj ? '}' : ']')) {
            char *key = NULL;
            JVal *e;

            if (obj) {
                if (*p != '"' || !(key = jstring(&p))) {
                    goto fail;
                }
                p = skip_ws(p);
                if (*p++ != ':') {
                    free(key);
                    goto fail;
                }
            }
            e = jparse(&p, depth + 1);
            if (!e) {
                free(key);
                goto fail;
            }
            e->key = key;
            *tail = e;
            tail = &e->next;
            p = skip_ws(p);
            if (*p == ',') {
                p = skip_ws(p + 1);
            }
        }
        if (!*p) {
            goto fail;
        }
        p++;
    } else if (*p == '"') {
        v->type = J_STR;
        if (!(v->str = jstring(&p))) {
            goto fail;
        }
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        v->type = J_BOOL;
        v->b = *p == 't';
        p += v->b ? 4 : 5;
    } else if (!strncmp(p, "null", 4)) {
        p += 4;
    } else {
        char *end;

        v->type = J_NUM;
        v->num = strtod(p, &end);
        if (end == p) {
            goto fail;
        }
        p = end;
    }
    *pp = p;
    return v;
fail:
    jfree(v);
    return NULL;
}

static const JVal *jget(const JVal *obj, const char *key)
{
    for (const JVal *e = obj ? obj->child : NULL; e; e = e->next) {
        if (e->key && !strcmp(e->key, key)) {
            return e;
        }
    }
    return NULL;
}

/* ---- talking to vgpud ---------------------------------------------------- */

static char *admin_request(const char *path, const char *cmd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t cap = 4096, n = 0;
    char *buf;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "vgpuctl: socket path too long\n");
        return NULL;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "vgpuctl: cannot connect to %s: %s\n", path,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    if (dprintf(fd, "%s\n", cmd) < 0) {
        close(fd);
        return NULL;
    }
    buf = malloc(cap);
    while (buf) {
        ssize_t r;

        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);

            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        buf[n] = '\0';
        if (memchr(buf, '\n', n)) {
            break;
        }
    }
    close(fd);
    if (buf) {
        buf[n] = '\0';
    }
    return buf;
}

/* ---- commands ------------------------------------------------------------ */

typedef enum { COL_NUM, COL_STR, COL_BYTES, COL_BOOL, COL_PCT, COL_REAL,
               COL_SECS } ColKind;

/* Columns of "list" and "top", one per tenant field. */
static const struct {
    const char *title;
    const char *key;
    ColKind kind;
    int width;
} list_cols[] = {
    { "NAME", "name", COL_STR, -20 },
    { "CLIENTS", "clients", COL_NUM, 7 },
    { "WEIGHT", "weight", COL_REAL, 7 },
    { "CAP", "cap", COL_PCT, 6 },
    { "SHARE1S", "share_1s", COL_PCT, 7 },
    { "SHARE10S", "share_10s", COL_PCT, 8 },
    { "GPU_TIME", "gpu_ns", COL_SECS, 9 },
    { "MEM_USED", "mem_used", COL_BYTES, 10 },
    { "QUOTA", "mem_quota", COL_BYTES, 10 },
    { "CTXS", "contexts", COL_NUM, 4 },
    { "QUEUED", "queued", COL_NUM, 6 },
    { "ERRORS", "errors", COL_NUM, 6 },
};

static void fmt_bytes(char *out, size_t n, double v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

/* Fetches "list" and parses it; prints why and returns NULL on failure. */
static JVal *fetch_list(const char *admin, char **raw)
{
    char *reply = admin_request(admin, "list");
    const char *p = reply;
    const JVal *err;
    JVal *root;

    if (!reply) {
        return NULL;
    }
    root = jparse(&p, 0);
    if (raw) {
        *raw = reply;
    } else {
        free(reply);
    }
    if (!root || root->type != J_OBJ) {
        fprintf(stderr, "vgpuctl: malformed reply from vgpud\n");
        jfree(root);
        return NULL;
    }
    err = jget(root, "error");
    if (err && err->type == J_STR) {
        fprintf(stderr, "vgpuctl: %s\n", err->str);
        jfree(root);
        return NULL;
    }
    return root;
}

static void print_table(const JVal *root)
{
    const JVal *tenants = jget(root, "tenants");

    for (size_t i = 0; i < sizeof(list_cols) / sizeof(list_cols[0]); i++) {
        printf("%s%*s", i ? " " : "", list_cols[i].width, list_cols[i].title);
    }
    printf("\n");
    for (const JVal *t = tenants ? tenants->child : NULL; t; t = t->next) {
        for (size_t i = 0; i < sizeof(list_cols) / sizeof(list_cols[0]); i++) {
            const JVal *v = jget(t, list_cols[i].key);
            char cell[64] = "-";

            if (v) {
                switch (list_cols[i].kind) {
                case COL_NUM:
                    snprintf(cell, sizeof(cell), "%.0f", v->num);
                    break;
                case COL_REAL:
                    snprintf(cell, sizeof(cell), "%g", v->num);
                    break;
                case COL_PCT:
                    if (!strcmp(list_cols[i].key, "cap") && v->num == 0) {
                        snprintf(cell, sizeof(cell), "none");
                    } else {
                        snprintf(cell, sizeof(cell), "%.1f%%", v->num * 100);
                    }
                    break;
                case COL_SECS:
                    snprintf(cell, sizeof(cell), "%.3fs", v->num / 1e9);
                    break;
                case COL_STR:
                    snprintf(cell, sizeof(cell), "%s", v->str ? v->str : "");
                    break;
                case COL_BYTES:
                    if (!strcmp(list_cols[i].key, "mem_quota") && v->num == 0) {
                        snprintf(cell, sizeof(cell), "none");
                    } else {
                        fmt_bytes(cell, sizeof(cell), v->num);
                    }
                    break;
                case COL_BOOL:
                    snprintf(cell, sizeof(cell), "%s", v->b ? "yes" : "no");
                    break;
                }
            }
            printf("%s%*s", i ? " " : "", list_cols[i].width, cell);
        }
        printf("\n");
    }
}

static int cmd_list(const char *admin, bool json, int argc, char **argv)
{
    char *raw = NULL;
    JVal *root;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "vgpuctl: list takes no arguments\n");
        return 2;
    }
    root = fetch_list(admin, json ? &raw : NULL);
    if (!root) {
        free(raw);
        return 1;
    }
    if (json) {
        fputs(raw, stdout);
    } else {
        print_table(root);
    }
    free(raw);
    jfree(root);
    return 0;
}

/*
 * Checks one key=value as vgpud will, so that a typo is reported before
 * anything is sent; vgpud checks again.  Returns false after printing why.
 */
static bool check_setting(const char *kv)
{
    const char *eq = strchr(kv, '=');
    const char *v = eq ? eq + 1 : "";
    char *end;
    double d;

    if (!eq || eq == kv || !*v) {
        fprintf(stderr, "vgpuctl: '%s': expected key=value "
                "(weight=W, cap=C or quota=BYTES)\n", kv);
        return false;
    }
    errno = 0;
    if (!strncmp(kv, "weight=", 7)) {
        d = strtod(v, &end);
        if (errno || *end || !(d >= VGPU_SCHED_WEIGHT_MIN &&
                               d <= VGPU_SCHED_WEIGHT_MAX)) {
            fprintf(stderr, "vgpuctl: weight '%s' out of range: must be a "
                    "number from %g to %.0f\n", v, VGPU_SCHED_WEIGHT_MIN,
                    VGPU_SCHED_WEIGHT_MAX);
            return false;
        }
    } else if (!strncmp(kv, "cap=", 4)) {
        d = strtod(v, &end);
        if (errno || *end || !(d >= 0 && d <= 1)) {
            fprintf(stderr, "vgpuctl: cap '%s' out of range: must be in "
                    "(0, 1] (a fraction of the GPU), or 0 for no cap\n", v);
            return false;
        }
    } else if (!strncmp(kv, "quota=", 6)) {
        (void)strtoull(v, &end, 10);
        if (*v == '-' || *v == '+' || end == v || errno ||
            (*end && (strchr("KkMmGgTt", *end) == NULL || end[1]))) {
            fprintf(stderr, "vgpuctl: quota '%s' out of range: must be a "
                    "byte count >= 0 (K, M, G, T suffixes; 0: no quota)\n", v);
            return false;
        }
    } else {
        fprintf(stderr, "vgpuctl: unknown setting '%.*s' (weight, cap or "
                "quota)\n", (int)(eq - kv), kv);
        return false;
    }
    return true;
}

static int cmd_set(const char *admin, bool json, int argc, char **argv)
{
    char line[2048];
    size_t n;
    char *reply;
    const char *p;
    const JVal *err;
    JVal *root;
    int rc = 0;

    if (argc < 3) {
        fprintf(stderr, "vgpuctl: usage: set NAME weight=W|cap=C|quota=Q ...\n");
        return 2;
    }
    n = (size_t)snprintf(line, sizeof(line), "set %s", argv[1]);
    for (int i = 2; i < argc; i++) {
        if (!check_setting(argv[i])) {
            return 2;
        }
        n += (size_t)snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0,
                              " %s", argv[i]);
    }
    if (n >= sizeof(line) || strchr(line, '\n')) {
        fprintf(stderr, "vgpuctl: arguments too long\n");
        return 2;
    }
    reply = admin_request(admin, line);
    if (!reply) {
        return 1;
    }
    if (json) {
        fputs(reply, stdout);
    }
    p = reply;
    root = jparse(&p, 0);
    err = jget(root, "error");
    if (!root || root->type != J_OBJ) {
        fprintf(stderr, "vgpuctl: malformed reply from vgpud\n");
        rc = 1;
    } else if (err && err->type == J_STR) {
        fprintf(stderr, "vgpuctl: %s\n", err->str);
        rc = 1;
    }
    jfree(root);
    free(reply);
    return rc;
}

static int cmd_top(const char *admin, bool json, int argc, char **argv)
{
    long count = -1;
    double delay = 1.0;
    bool tty = isatty(STDOUT_FILENO);
    char *end;
    int c;

    (void)json;
    optind = 1;
    while ((c = getopt(argc, argv, "n:d:")) != -1) {
        switch (c) {
        case 'n':
            count = strtol(optarg, &end, 10);
            if (*end || count < 1) {
                fprintf(stderr, "vgpuctl: top -n: a count >= 1\n");
                return 2;
            }
            break;
        case 'd':
            delay = strtod(optarg, &end);
            if (*end || !(delay >= 0.1 && delay <= 3600)) {
                fprintf(stderr, "vgpuctl: top -d: seconds from 0.1 to 3600\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "vgpuctl: usage: top [-n COUNT] [-d SECONDS]\n");
            return 2;
        }
    }
    for (long i = 0; count < 0 || i < count; i++) {
        JVal *root = fetch_list(admin, NULL);
        const JVal *pol = root ? jget(root, "policy") : NULL;
        const JVal *inf = root ? jget(root, "inflight") : NULL;
        struct timespec ts;

        if (!root) {
            return 1;
        }
        if (tty) {
            printf("\033[H\033[2J");
        }
        printf("vgpud: scheduler %s, %.0f items in flight\n",
               pol && pol->str ? pol->str : "?", inf ? inf->num : 0);
        print_table(root);
        jfree(root);
        fflush(stdout);
        if (count < 0 || i + 1 < count) {
            ts.tv_sec = (time_t)delay;
            ts.tv_nsec = (long)((delay - (double)ts.tv_sec) * 1e9);
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
    }
    return 0;
}

/* Prometheus label value: backslash, quote and newline escaped. */
static void prom_label(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            printf("\\%c", *s);
        } else if (*s == '\n') {
            printf("\\n");
        } else {
            putchar(*s);
        }
    }
}

static int cmd_metrics(const char *admin, bool json, int argc, char **argv)
{
    static const struct {
        const char *metric, *key, *type, *help;
        double scale;
    } m[] = {
        { "vgpu_tenant_weight", "weight", "gauge", "scheduler weight", 1 },
        { "vgpu_tenant_cap", "cap", "gauge",
          "maximum share of the GPU (0: none)", 1 },
        { "vgpu_tenant_share_1s", "share_1s", "gauge",
          "share of the engine time all tenants used in the last second", 1 },
        { "vgpu_tenant_share_10s", "share_10s", "gauge",
          "share of the engine time all tenants used in the last 10 s", 1 },
        { "vgpu_tenant_gpu_seconds_total", "gpu_ns", "counter",
          "engine time of completed work", 1e-9 },
        { "vgpu_tenant_memory_used_bytes", "mem_used", "gauge",
          "device memory allocated", 1 },
        { "vgpu_tenant_memory_quota_bytes", "mem_quota", "gauge",
          "device memory quota (0: none)", 1 },
        { "vgpu_tenant_queued_items", "queued", "gauge",
          "work items queued and not completed", 1 },
        { "vgpu_tenant_clients", "clients", "gauge", "connected clients", 1 },
        { "vgpu_tenant_requests_total", "requests", "counter",
          "requests of its connected clients", 1 },
        { "vgpu_tenant_errors_total", "errors", "counter",
          "requests answered with an error", 1 },
        { "vgpu_tenant_quota_refusals_total", "quota_refusals", "counter",
          "allocations refused by the quota", 1 },
    };
    JVal *root;
    const JVal *tenants, *inf;

    (void)json;
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "vgpuctl: metrics takes no arguments\n");
        return 2;
    }
    root = fetch_list(admin, NULL);
    if (!root) {
        return 1;
    }
    tenants = jget(root, "tenants");
    inf = jget(root, "inflight");
    printf("# HELP vgpu_inflight_items work items submitted to the executor\n"
           "# TYPE vgpu_inflight_items gauge\nvgpu_inflight_items %.0f\n",
           inf ? inf->num : 0);
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        printf("# HELP %s %s\n# TYPE %s %s\n", m[i].metric, m[i].help,
               m[i].metric, m[i].type);
        for (const JVal *t = tenants ? tenants->child : NULL; t; t = t->next) {
            const JVal *name = jget(t, "name"), *v = jget(t, m[i].key);

            if (!name || !name->str || !v) {
                continue;
            }
            printf("%s{tenant=\"", m[i].metric);
            prom_label(name->str);
            printf("\"} %.17g\n", v->num * m[i].scale);
        }
    }
    jfree(root);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: vgpuctl [--admin-socket PATH] [--json] COMMAND [ARGS]\n"
"Queries and configures a running vgpud.\n"
"\n"
"Commands:\n"
"  list                  tenants: weight, cap, share of the GPU over the\n"
"                        last 1 s and 10 s, GPU time, memory used/quota,\n"
"                        queue depth, errors\n"
"  set NAME KEY=VALUE... change a tenant: weight=W (0.001..1000000),\n"
"                        cap=C (in (0, 1]; 0: none), quota=BYTES (>= 0,\n"
"                        K/M/G/T suffixes; 0: none)\n"
"  top [-n COUNT] [-d SECONDS]  the list, refreshed every SECONDS (1),\n"
"                        COUNT times (default: until interrupted)\n"
"  metrics               the tenants' figures in the Prometheus text format\n"
"\n"
"  --admin-socket PATH   vgpud's admin socket (default: $VGPU_SOCKET or\n"
"                        " DEFAULT_SOCKET ", plus \".admin\")\n"
"  --json                print vgpud's JSON reply as it is (list, set)\n");
}

static const struct {
    const char *name;
    int (*fn)(const char *admin, bool json, int argc, char **argv);
} commands[] = {
    { "list", cmd_list },
    { "set", cmd_set },
    { "top", cmd_top },
    { "metrics", cmd_metrics },
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "admin-socket", required_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *admin = NULL;
    char *admin_default = NULL;
    bool json = false;
    int c, rc = 1;

    /* "+": options after the command belong to the command */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            admin = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (!admin) {
        const char *s = getenv("VGPU_SOCKET");

        if (asprintf(&admin_default, "%s.admin",
                     s && *s ? s : DEFAULT_SOCKET) < 0) {
            return 1;
        }
        admin = admin_default;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[optind], commands[i].name)) {
            rc = commands[i].fn(admin, json, argc - optind, argv + optind);
            free(admin_default);
            return rc;
        }
    }
    fprintf(stderr, "vgpuctl: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    free(admin_default);
    return 2;
}
