/*
 * preflush.c - flush dirty pages before the stop, and always put the
 * server's settings back (see preflush.h).
 *
 * The four variables are handled as a small table in the order they are
 * changed; restoring walks it backwards. Values read from the server are
 * checked to be plain numbers before they go back into a SET statement.
 */
#include "mysql/preflush.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "mysql/sql.h"

enum { LWM, PCT, CAP_MAX, CAP, TUNABLES };

static const char *const tunable_names[TUNABLES] = {
    [LWM] = "innodb_max_dirty_pages_pct_lwm",
    [PCT] = "innodb_max_dirty_pages_pct",
    [CAP_MAX] = "innodb_io_capacity_max",
    [CAP] = "innodb_io_capacity",
};

static char *saved_value(struct mysql_preflush_result *res, int which)
{
    switch (which) {
    case LWM:
        return res->old_max_dirty_pages_pct_lwm;
    case PCT:
        return res->old_max_dirty_pages_pct;
    case CAP_MAX:
        return res->old_io_capacity_max;
    default:
        return res->old_io_capacity;
    }
}

/* A non-negative decimal number, as SHOW VARIABLES prints these. */
static bool is_number(const char *s)
{
    bool digit = false, dot = false;
    for (; *s != '\0'; s++) {
        if (isdigit((unsigned char)*s))
            digit = true;
        else if (*s == '.' && !dot)
            dot = true;
        else
            return false;
    }
    return digit;
}

static mfb_status set_global(struct mysql_conn *client, const char *name, const char *value,
                             struct mfb_error *err)
{
    char sql[128];
    snprintf(sql, sizeof(sql), MYSQL_SQL_SET_GLOBAL, name, value);
    return mysql_conn_exec(client, sql, err);
}

mfb_status mysql_dirty_pages(struct mysql_conn *client, uint64_t *pages, struct mfb_error *err)
{
    struct mysql_rows *rows = NULL;
    mfb_status st = mysql_conn_query(client, MYSQL_SQL_DIRTY_PAGES, &rows, err);
    if (st != MFB_OK)
        return st;
    const char *v = mysql_rows_lookup(rows, "Innodb_buffer_pool_pages_dirty");
    if (v == NULL || !is_number(v) || strchr(v, '.') != NULL)
        st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                           "the server at %s does not report Innodb_buffer_pool_pages_dirty "
                           "(is InnoDB disabled?)",
                           mysql_conn_where(client));
    else
        *pages = strtoull(v, NULL, 10);
    mysql_rows_free(rows);
    return st;
}

static mfb_status read_tunables(struct mysql_conn *client, struct mysql_preflush_result *res,
                                struct mfb_error *err)
{
    struct mysql_rows *rows = NULL;
    mfb_status st = mysql_conn_query(client, MYSQL_SQL_PREFLUSH_VARIABLES, &rows, err);
    for (int i = 0; st == MFB_OK && i < TUNABLES; i++) {
        const char *v = mysql_rows_lookup(rows, tunable_names[i]);
        char *slot = saved_value(res, i);
        if (v == NULL || !is_number(v) || strlen(v) >= sizeof(res->old_io_capacity))
            st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                               "the server at %s has no usable %s (is InnoDB disabled?)",
                               mysql_conn_where(client), tunable_names[i]);
        else
            snprintf(slot, sizeof(res->old_io_capacity), "%s", v);
    }
    mysql_rows_free(rows);
    return st;
}

/* Puts back every changed value, last changed first. Reconnects once if the
 * connection is gone. Keeps going after a failure; reports the first. */
static mfb_status restore_tunables(struct mysql_conn *client, const bool changed[TUNABLES],
                                   struct mysql_preflush_result *res, struct mfb_error *err)
{
    mfb_status first = MFB_OK;
    bool reconnected = false;
    for (int i = TUNABLES - 1; i >= 0; i--) {
        if (!changed[i])
            continue;
        const char *old = saved_value(res, i);
        struct mfb_error e = {0};
        mfb_status st = set_global(client, tunable_names[i], old, &e);
        if (st != MFB_OK && mysql_conn_lost(client) && !reconnected) {
            reconnected = true;
            mfb_error_clear(&e);
            st = mysql_conn_reconnect(client, &e);
            if (st == MFB_OK)
                st = set_global(client, tunable_names[i], old, &e);
        }
        if (st == MFB_OK)
            continue;
        log_error("mysql_preflush", "restore=%s value=%s error=\"%s\"", tunable_names[i], old,
                  e.message);
        if (first == MFB_OK) {
            first = mfb_error_set(err, st, "could not put %s back to %s: %s", tunable_names[i], old,
                                  e.message);
            mfb_error_hint(err, "set it by hand: SET GLOBAL %s = %s", tunable_names[i], old);
        }
    }
    return first;
}

/* Waits for the dirty pages to fall to the target, the deadline or a cancel. */
static mfb_status wait_for_target(struct mysql_conn *client,
                                  const struct mysql_preflush_options *opt, uint64_t deadline,
                                  struct mysql_preflush_result *res, struct mfb_error *err)
{
    uint64_t interval = opt->poll_interval_ms ? opt->poll_interval_ms : 100;
    for (;;) {
        mfb_status st = mysql_dirty_pages(client, &res->pages_after, err);
        if (st != MFB_OK)
            return st;
        if (res->pages_after <= opt->dirty_pages_target) {
            res->reached = true;
            return MFB_OK;
        }
        uint64_t left = clock_left_ms(deadline);
        if (left == 0)
            return MFB_OK;
        if (!clock_sleep_ms(left < interval ? left : interval, opt->cancel))
            return mfb_error_set(err, MFB_ERR_CANCELLED,
                                 "pre-flush cancelled with %" PRIu64 " dirty pages left",
                                 res->pages_after);
    }
}

static mfb_status apply_and_wait(struct mysql_conn *client,
                                 const struct mysql_preflush_options *opt, uint64_t deadline,
                                 bool changed[TUNABLES], struct mysql_preflush_result *res,
                                 struct mfb_error *err)
{
    uint64_t old_max = strtoull(res->old_io_capacity_max, NULL, 10);
    uint64_t old_rate = strtoull(res->old_io_capacity, NULL, 10);
    uint64_t rate = opt->io_capacity ? opt->io_capacity : old_max;
    if (rate < old_rate) /* raise, never lower */
        rate = old_rate;
    res->io_capacity_used = rate;
    char rate_text[32];
    snprintf(rate_text, sizeof(rate_text), "%" PRIu64, rate);

    /* Each value counts as changed before its SET: if the connection drops
     * during the statement, nobody knows whether it took effect. */
    changed[LWM] = res->changed = true;
    mfb_status st = set_global(client, tunable_names[LWM], "0", err);
    if (st == MFB_OK) {
        changed[PCT] = true;
        st = set_global(client, tunable_names[PCT], "0", err);
    }
    if (st == MFB_OK && rate > old_max) {
        changed[CAP_MAX] = true;
        st = set_global(client, tunable_names[CAP_MAX], rate_text, err);
    }
    if (st == MFB_OK) {
        changed[CAP] = true;
        st = set_global(client, tunable_names[CAP], rate_text, err);
    }
    if (st == MFB_OK)
        st = wait_for_target(client, opt, deadline, res, err);
    return st;
}

mfb_status mysql_preflush(struct mysql_conn *client, const struct mysql_preflush_options *opt,
                          struct mysql_preflush_result *res, struct mfb_error *err)
{
    struct mysql_preflush_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    uint64_t start = clock_now_ms();
    uint64_t deadline = start + opt->timeout_ms;
    bool changed[TUNABLES] = {false};
    struct mfb_error first = {0};

    if (cancel_flag_raised(opt->cancel))
        return mfb_error_set(err, MFB_ERR_CANCELLED, "pre-flush cancelled before it began");
    mfb_status st = read_tunables(client, res, &first);
    if (st == MFB_OK)
        st = mysql_dirty_pages(client, &res->pages_before, &first);
    res->pages_after = res->pages_before;
    if (st == MFB_OK)
        st = apply_and_wait(client, opt, deadline, changed, res, &first);

    struct mfb_error restore_err = {0};
    mfb_status rst = restore_tunables(client, changed, res, &restore_err);
    res->restored = res->changed && rst == MFB_OK;
    res->elapsed_ms = clock_now_ms() - start;

    if (rst != MFB_OK) {
        /* The server is left with changed settings: that is what the
         * operator must hear about first. */
        if (st != MFB_OK) {
            mfb_error_set(err, rst, "%s (after: %s)", restore_err.message, first.message);
            mfb_error_hint(err, "%s", restore_err.hint);
            return rst;
        }
        return mfb_error_copy(err, &restore_err);
    }
    if (st != MFB_OK)
        return mysql_error_forward(err, &first);
    log_info("mysql_preflush",
             "pages_before=%" PRIu64 " pages_after=%" PRIu64 " target=%" PRIu64
             " reached=%s io_capacity=%" PRIu64 " elapsed_ms=%" PRIu64,
             res->pages_before, res->pages_after, opt->dirty_pages_target,
             res->reached ? "yes" : "no", res->io_capacity_used, res->elapsed_ms);
    return MFB_OK;
}
