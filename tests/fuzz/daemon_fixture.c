/*
 * daemon_fixture.c - the daemon and the request driver the daemon's
 * libFuzzer targets share (see daemon_fixture.h).
 */
#include "daemon_fixture.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/api.h"
#include "daemon/events.h"
#include "store/config_records.h"
#include "store/schedules.h"

static struct daemon d;
static struct config_db *db;
static char tmpdir[] = "/tmp/mfb-fuzz-daemon-XXXXXX";

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: cannot remove %s\n", tmpdir);
}

static void add_instance(const char *name)
{
    struct config_instance inst;
    config_instance_init(&inst);
    snprintf(inst.name, sizeof(inst.name), "%s", name);
    inst.control = CONFIG_CONTROL_SYSTEMD;
    if (config_str_set(&inst.socket, "/run/mysqld/mysqld.sock", NULL) != MFB_OK ||
        config_str_set(&inst.user, "mfb", NULL) != MFB_OK ||
        config_str_set(&inst.password, "x", NULL) != MFB_OK ||
        config_str_set(&inst.service, "mariadb", NULL) != MFB_OK ||
        config_str_set(&inst.datadir, "/var/lib/mysql", NULL) != MFB_OK ||
        config_str_set(&inst.spool, "/var/spool/mfb", NULL) != MFB_OK ||
        config_instance_add(db, &inst, NULL) != MFB_OK)
        abort();
    config_instance_free(&inst);
}

static void setup(void)
{
    const char *dir = mkdtemp(tmpdir);
    if (dir == NULL)
        abort();
    atexit(remove_tmpdir);
    mfb_log_init(MFB_LOG_ERROR, fopen("/dev/null", "w"));
    char path[256];
    snprintf(path, sizeof(path), "%s/mfb.db", dir);
    if (config_db_open(path, true, &db, NULL, NULL) != MFB_OK)
        abort();
    add_instance("prod");
    add_instance("test");
    struct config_target t;
    config_target_init(&t);
    snprintf(t.name, sizeof(t.name), "rx");
    if (config_str_set(&t.url, "https://rx.example:8443", NULL) != MFB_OK ||
        config_str_set(&t.token, "0123abcd", NULL) != MFB_OK ||
        config_str_set(&t.ca_file, "/etc/mfb/ca.pem", NULL) != MFB_OK ||
        config_str_set(&t.naming, CONFIG_DEFAULT_NAMING, NULL) != MFB_OK ||
        config_target_add(db, &t, NULL) != MFB_OK)
        abort();
    config_target_free(&t);
    struct config_schedule s;
    config_schedule_init(&s);
    snprintf(s.name, sizeof(s.name), "nightly");
    snprintf(s.instance, sizeof(s.instance), "prod");
    if (config_str_set(&s.cron, "0 3 * * *", NULL) != MFB_OK ||
        config_schedule_add(db, &s, NULL) != MFB_OK)
        abort();
    config_schedule_free(&s);
    if (daemon_init(&d, db, 2, NULL) != MFB_OK)
        abort();
}

/* Every answer with a body is JSON but text a route says it sends; an
 * error is {"error", "message"}. */
static void check_answer(const struct daemon_api_response *r)
{
    if (r->status < 200 || r->status > 599)
        abort();
    if (r->body == NULL) {
        if (r->status >= 400 || r->events == NULL)
            abort(); /* only the stream answers without a body */
        return;
    }
    /* the report's CSV and the metrics are text; every error is JSON */
    if (r->status < 400 && r->content_type != NULL &&
        strncmp(r->content_type, "application/json", 16) != 0)
        return;
    json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
    if (root == NULL)
        abort();
    if (r->status >= 400) {
        const char *code = json_string_value(json_object_get(root, "error"));
        const char *msg = json_string_value(json_object_get(root, "message"));
        if (code == NULL || msg == NULL || msg[0] == '\0')
            abort();
        if (r->status == 405 && r->allow == NULL)
            abort();
    }
    json_decref(root);
}

/* Drives a stream's subscriber a little: its first event is a snapshot,
 * and each event's SSE text is one event line and one data line of JSON. */
static void drain(struct event_sub *sub)
{
    for (int i = 0; i < 4; i++) {
        struct event ev;
        uint64_t wait = 0;
        if (event_sub_take(sub, 0, &ev, &wait) != EVENT_TAKEN)
            break;
        if (i == 0 && ev.kind != EVENT_SNAPSHOT)
            abort();
        char *text = daemon_api_event_text(&d, &ev);
        free(ev.data);
        if (text == NULL)
            continue;
        const char *data = strstr(text, "\ndata: ");
        if (strncmp(text, "event: ", 7) != 0 || data == NULL)
            abort();
        data += 7;
        const char *nl = strchr(data, '\n');
        if (nl == NULL || strcmp(nl, "\n\n") != 0)
            abort();
        json_t *o = json_loadb(data, (size_t)(nl - data), 0, NULL);
        if (o == NULL)
            abort();
        json_decref(o);
        free(text);
    }
    event_hub_unsubscribe(sub);
}

struct daemon *fuzz_daemon(struct config_db **out)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (out)
        *out = db;
    return &d;
}

void fuzz_daemon_request(struct daemon *dm, const char *method, const char *url, const char *body,
                         size_t body_len)
{
    bool decided = false;
    struct daemon_api_call *call = daemon_api_begin(dm, method, url, &decided);
    if (!decided && body_len > 0) {
        size_t piece = 1 + (unsigned char)body[0] % 64;
        bool keep = true;
        for (size_t off = 0; keep && off < body_len; off += piece) {
            size_t n = body_len - off < piece ? body_len - off : piece;
            keep = daemon_api_body(call, body + off, n);
        }
        if (!keep) {
            daemon_api_call_free(call);
            return;
        }
    }
    struct daemon_api_response resp;
    daemon_api_finish(call, &resp);
    check_answer(&resp);
    if (resp.events != NULL)
        drain(resp.events);
    free(resp.body);
    daemon_api_call_free(call);
}
