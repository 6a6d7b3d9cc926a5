/*
 * notify.c - sd_notify for the daemon (see notify.h), compiled to nothing
 * without libsystemd.
 *
 * The status text is built from the workers' slots, the same copies the
 * API reads, under the daemon's lock: the main thread that sends it never
 * touches a job's own state. Taking the lock is also what makes the
 * watchdog ping mean something: a daemon whose lock is stuck stops
 * refreshing its status, and its pings stop with it (cmd_daemon.c).
 */
#include "daemon/notify.h"

#include <stdio.h>
#include <string.h>

#include "store/job_log.h"

#ifdef MFB_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

bool daemon_notify_built_in(void)
{
#ifdef MFB_HAVE_SYSTEMD
    return true;
#else
    return false;
#endif
}

void daemon_notify(const char *state)
{
#ifdef MFB_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

uint64_t daemon_notify_watchdog_ms(void)
{
#ifdef MFB_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
        return usec / 2000;
#endif
    return 0;
}

void daemon_notify_status_text(struct daemon *d, char *buf, size_t len)
{
    size_t used = 0;
    bool any = false;
    buf[0] = '\0';
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->workers && used < len; i++) {
        const struct daemon_slot *s = &d->slots[i];
        if (!s->busy)
            continue;
        char pct[16] = "";
        if (s->progress.bytes_total > 0)
            snprintf(pct, sizeof(pct), " %u%%",
                     (unsigned)(s->progress.bytes_done * 100 / s->progress.bytes_total));
        int n = snprintf(buf + used, len - used, "%s%s %s (%s%s)",
                         any ? ", " : "running: ", s->entry.kind, s->entry.instance,
                         job_step_name(s->progress.step), pct);
        if (n < 0)
            break;
        used += (size_t)n;
        any = true;
    }
    pthread_mutex_unlock(&d->lock);
    if (!any)
        snprintf(buf, len, "idle");
}
