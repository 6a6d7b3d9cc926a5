/*
 * preflush.h - writes InnoDB's dirty pages to disk while the server still
 * serves, so that the shutdown that follows is short (docs/backup.md, pre-flush).
 *
 * A clean shutdown must flush every dirty page of the buffer pool; at the
 * default innodb_io_capacity that took minutes on the reference machine
 * (about 35,000 dirty pages: 150-340 s), all of it downtime. Done before
 * the stop, with innodb_io_capacity raised and innodb_max_dirty_pages_pct
 * at 0, it took about 3 s and the server kept serving meanwhile.
 *
 * The sequence: read the four variables; set innodb_max_dirty_pages_pct_lwm
 * and innodb_max_dirty_pages_pct to 0 (the low-water mark first, as the
 * server will not put the maximum below it); raise innodb_io_capacity_max
 * when the wanted rate is above it, then innodb_io_capacity; poll
 * Innodb_buffer_pool_pages_dirty until it is at or below the target, the
 * timeout passes or cancel is set; then ALWAYS put the four values back, in
 * the reverse order, also after an error, a timeout or a cancel. If the
 * connection dropped meanwhile, it reconnects once to restore them.
 *
 * Trade-offs:
 * - Reaching the timeout is not an error: the shutdown flushes whatever is
 *   left, only slower. The result says whether the target was reached, and
 *   the caller decides.
 * - Writes go on while it waits, so the target is a threshold, not zero.
 * - Needs the privilege to SET GLOBAL (SUPER, or SYSTEM_VARIABLES_ADMIN on
 *   MySQL 8).
 */
#ifndef MFB_MYSQL_PREFLUSH_H
#define MFB_MYSQL_PREFLUSH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "mysql/connection.h"

#define MYSQL_PREFLUSH_DEFAULT_TARGET 1000 /* dirty pages: 16 MB at 16 KiB pages */

struct mysql_preflush_options {
    uint64_t io_capacity;        /* the flush rate to set; 0: innodb_io_capacity_max */
    uint64_t dirty_pages_target; /* done when dirty pages <= this */
    uint64_t timeout_ms;         /* how long to wait for the target */
    uint64_t poll_interval_ms;   /* 0: 100 ms */
    const atomic_bool *cancel;   /* may be NULL */
};

struct mysql_preflush_result {
    uint64_t pages_before;     /* dirty pages when it began */
    uint64_t pages_after;      /* dirty pages at the last poll */
    uint64_t elapsed_ms;       /* from the start until the values were restored */
    bool reached;              /* pages_after <= dirty_pages_target */
    bool changed;              /* server variables were changed */
    bool restored;             /* and all of them were put back */
    uint64_t io_capacity_used; /* the innodb_io_capacity it set */
    /* The values found, as the server printed them, and put back. */
    char old_io_capacity[32];
    char old_io_capacity_max[32];
    char old_max_dirty_pages_pct[32];
    char old_max_dirty_pages_pct_lwm[32];
};

/* Runs the pre-flush on a connected server. MFB_OK also when the timeout
 * passed first (see reached). MFB_ERR_CANCELLED on cancel; an SQL error as
 * connection.c maps it; an error restoring a value names the value and the
 * statement to run by hand. The values are restored in every case where
 * they were changed. res may be NULL. */
mfb_status mysql_preflush(struct mysql_conn *client, const struct mysql_preflush_options *opt,
                          struct mysql_preflush_result *res, struct mfb_error *err);

/* Innodb_buffer_pool_pages_dirty now. */
mfb_status mysql_dirty_pages(struct mysql_conn *client, uint64_t *pages, struct mfb_error *err);

#endif
