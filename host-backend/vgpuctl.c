/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpuctl.c - command-line client of vgpud's admin socket.
 *
 * Commands are a table (name, handler); "list" prints one row per tenant
 * from the JSON line vgpud answers, with columns from a second table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

typedef enum { COL_NUM, COL_STR, COL_BYTES, COL_BOOL } ColKind;

/* Columns of "list", one per tenant field. */
static const struct {
    const char *title;
    const char *key;
    ColKind kind;
    int width;
} list_cols[] = {
    { "TENANT", "id", COL_NUM, 6 },
    { "NAME", "name", COL_STR, -20 },
    { "CONN", "connected", COL_BOOL, 4 },
    { "CTXS", "contexts", COL_NUM, 4 },
    { "MEM_USED", "mem_used", COL_BYTES, 10 },
    { "ALLOCS", "allocations", COL_NUM, 6 },
    { "QUEUED", "queued", COL_NUM, 6 },
    { "REQUESTS", "requests", COL_NUM, 9 },
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

static int cmd_list(const char *admin, bool json)
{
    char *reply = admin_request(admin, "list");
    const char *p = reply;
    const JVal *tenants, *err;
    JVal *root;

    if (!reply) {
        return 1;
    }
    if (json) {
        fputs(reply, stdout);
        free(reply);
        return 0;
    }
    root = jparse(&p, 0);
    free(reply);
    if (!root || root->type != J_OBJ) {
        fprintf(stderr, "vgpuctl: malformed reply from vgpud\n");
        jfree(root);
        return 1;
    }
    err = jget(root, "error");
    if (err && err->type == J_STR) {
        fprintf(stderr, "vgpuctl: %s\n", err->str);
        jfree(root);
        return 1;
    }
    for (size_t i = 0; i < sizeof(list_cols) / sizeof(list_cols[0]); i++) {
        printf("%s%*s", i ? " " : "", list_cols[i].width, list_cols[i].title);
    }
    printf("\n");
    tenants = jget(root, "tenants");
    for (const JVal *t = tenants ? tenants->child : NULL; t; t = t->next) {
        for (size_t i = 0; i < sizeof(list_cols) / sizeof(list_cols[0]); i++) {
            const JVal *v = jget(t, list_cols[i].key);
            char cell[64] = "-";

            if (v) {
                switch (list_cols[i].kind) {
                case COL_NUM:
                    snprintf(cell, sizeof(cell), "%.0f", v->num);
                    break;
                case COL_STR:
                    snprintf(cell, sizeof(cell), "%s", v->str ? v->str : "");
                    break;
                case COL_BYTES:
                    fmt_bytes(cell, sizeof(cell), v->num);
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
    jfree(root);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: vgpuctl [--admin-socket PATH] [--json] COMMAND\n"
"Queries a running vgpud.\n"
"\n"
"Commands:\n"
"  list                  tenants: contexts, memory, queue depth, errors\n"
"\n"
"  --admin-socket PATH   vgpud's admin socket (default: $VGPU_SOCKET or\n"
"                        " DEFAULT_SOCKET ", plus \".admin\")\n"
"  --json                print vgpud's JSON reply as it is\n");
}

static const struct {
    const char *name;
    int (*fn)(const char *admin, bool json);
} commands[] = {
    { "list", cmd_list },
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

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
            return 1;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 1;
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
            rc = commands[i].fn(admin, json);
            free(admin_default);
            return rc;
        }
    }
    fprintf(stderr, "vgpuctl: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    free(admin_default);
    return 1;
}
