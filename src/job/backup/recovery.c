/*
 * recovery.c - manual recovery steps (see recovery.h).
 */
#include "job/backup/recovery.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
    char *buf;
    size_t len;
    size_t cap;
    int step;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->buf == NULL)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            free(t->buf);
            t->buf = NULL;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void step(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void step(struct text *t, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    add(t, "  %d. %s\n", ++t->step, line);
}

char *recovery_text(const struct recovery_facts *f)
{
    struct text t = {.buf = malloc(2048), .cap = 2048};
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';
    add(&t,
        "MySQL instance '%s' did not start again after its backup: the database server is "
        "DOWN.\n"
        "mfb only read its files; it changed none of them.\n\n",
        f->instance);
    add(&t, "Data directory: %s\n", f->datadir ? f->datadir : "(unknown)");
    for (size_t i = 0; i < f->root_count; i++) {
        if (f->datadir && strcmp(f->root_paths[i], f->datadir) == 0)
            continue;
        add(&t, "Also holds server files: %s (%s)\n", f->root_paths[i], f->root_names[i]);
    }
    add(&t, "The command that failed: %s\n", f->failed_command ? f->failed_command : "(none)");
    if (f->failure)
        add(&t, "What happened: %s\n", f->failure);
    add(&t, "Error log to read: %s\n",
        f->error_log ? f->error_log : "(the server logs to its standard error or the journal)");
    if (f->backup_name)
        add(&t, "The backup taken just before is safe on the receiver: %s (id %s)\n",
            f->backup_name, f->backup_id ? f->backup_id : "?");
    else if (f->data_zip)
        add(&t, "The backup taken just before is complete on this machine: %s\n", f->data_zip);

    add(&t, "\nWhat to try, in this order:\n");
    if (f->error_log)
        step(&t, "read why it stopped or failed to start: tail -n 100 '%s'", f->error_log);
    const struct mysql_method *m = f->method;
    if (m && m->kind == MYSQL_METHOD_SYSTEMD) {
        step(&t, "look at the unit: systemctl status %s; journalctl -u %s -n 100", m->name,
             m->name);
        step(&t, "start it: systemctl start %s", m->name);
    } else if (m && m->kind == MYSQL_METHOD_SYSV) {
        step(&t, "start it: service %s start", m->name);
    } else if (m && m->start_cmd) {
        step(&t, "run the start command by hand and read what it prints: %s", m->start_cmd);
    }
    step(&t,
         "check that nothing else holds the data directory (a half-stopped server): "
         "fuser -v '%s'/ibdata1; ls -l '%s'/*.pid",
         f->datadir ? f->datadir : "DATADIR", f->datadir ? f->datadir : "DATADIR");
    step(&t,
         "check that the files are still owned by the server's user and that the disk is "
         "not full: ls -ld '%s'; df -h '%s'",
         f->datadir ? f->datadir : "DATADIR", f->datadir ? f->datadir : "DATADIR");
    if (f->socket)
        step(&t, "when it runs, check that it answers: mariadb --socket='%s' -e 'SELECT 1'",
             f->socket);
    else if (f->host)
        step(&t, "when it runs, check that it answers: mariadb -h %s -P %u -e 'SELECT 1'", f->host,
             f->port ? f->port : 3306);
    if (f->backup_name)
        step(&t, "only if the files are damaged: restore the backup with 'mfb restore %s %s'",
             f->instance, f->backup_name);
    else if (f->data_zip)
        step(&t,
             "only if the files are damaged: the archive %s holds them all ('mfb archive "
             "test' checks it, 'mfb archive extract' unpacks it)",
             f->data_zip);
    step(&t, "once the server answers, run 'mfb instance check %s'", f->instance);
    return t.buf;
}
