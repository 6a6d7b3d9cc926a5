/*
 * observer.h - progress of a transfer, for anyone who wants to watch it.
 *
 * The transfer code knows nothing about terminals, JSON or web pages: it
 * reports events to a list of observers (the terminal bar of `mfb push` is
 * one; a JSON stream and the daemon's web UI are others). Events come from
 * the uploader's worker threads, but an observer_hub serializes the calls,
 * so an observer is never called from two threads at once. Observers must
 * return quickly and must not call back into the transfer.
 *
 * PROGRESS events are throttled to one per `interval` (100 ms); every other
 * event is delivered as it happens.
 */
#ifndef MFB_TRANSFER_OBSERVER_H
#define MFB_TRANSFER_OBSERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

enum transfer_event_type {
    TRANSFER_EVENT_START,    /* id known, transfer begins */
    TRANSFER_EVENT_PROGRESS, /* bytes moved */
    TRANSFER_EVENT_CHUNK,    /* one chunk finished: chunk_index, chunk_outcome */
    TRANSFER_EVENT_RETRY,    /* a request failed and will be retried */
    TRANSFER_EVENT_DONE,     /* finished; status says how */
};

enum chunk_outcome {
    CHUNK_SENT,     /* uploaded */
    CHUNK_VERIFIED, /* the receiver already had it with the same digest */
    CHUNK_REPLACED, /* the receiver had another digest; sent again */
};

struct transfer_event {
    enum transfer_event_type type;
    const char *operation; /* "upload" or "download" */
    const char *id;        /* upload id or backup id ("" before it is known) */
    uint64_t bytes_done;   /* verified or acknowledged, plus in flight */
    uint64_t bytes_total;  /* meaningful when total_known */
    bool total_known;
    uint64_t elapsed_ms; /* since the hub started */
    /* CHUNK */
    uint64_t chunk_index;
    enum chunk_outcome chunk_outcome;
    /* RETRY */
    unsigned attempt;  /* the attempt that failed, 1-based */
    uint64_t delay_ms; /* before the next one */
    const char *reason;
    /* DONE */
    mfb_status status;
};

struct transfer_observer {
    void (*notify)(void *ctx, const struct transfer_event *event);
    void *ctx;
};

struct observer_hub {
    const struct transfer_observer *observers;
    size_t count;
    const char *operation;
    char id[128];
    uint64_t started_ms;
    uint64_t interval_ms;
    atomic_uint_fast64_t last_progress_ms;
    pthread_mutex_t lock;
};

void observer_hub_init(struct observer_hub *hub, const struct transfer_observer *observers,
                       size_t count, const char *operation);
void observer_hub_destroy(struct observer_hub *hub);
void observer_hub_set_id(struct observer_hub *hub, const char *id);

/* True (once per interval, to one caller) when a PROGRESS event is due. */
bool observer_hub_claim_progress(struct observer_hub *hub);

/* Fills operation, id and elapsed_ms and calls every observer in turn. */
void observer_hub_emit(struct observer_hub *hub, struct transfer_event *event);

#endif
