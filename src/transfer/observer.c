/*
 * observer.c - the serializing, throttling fan-out of transfer events (see
 * observer.h).
 */
#include "transfer/observer.h"

#include <stdio.h>

#include "common/clock.h"
#include "transfer/backoff.h"

void observer_hub_init(struct observer_hub *hub, const struct transfer_observer *observers,
                       size_t count, const char *operation)
{
    hub->observers = observers;
    hub->count = observers ? count : 0;
    hub->operation = operation;
    hub->id[0] = '\0';
    hub->started_ms = clock_now_ms();
    hub->interval_ms = 100;
    atomic_init(&hub->last_progress_ms, hub->started_ms);
    pthread_mutex_init(&hub->lock, NULL);
}

void observer_hub_destroy(struct observer_hub *hub)
{
    pthread_mutex_destroy(&hub->lock);
}

void observer_hub_set_id(struct observer_hub *hub, const char *id)
{
    pthread_mutex_lock(&hub->lock);
    snprintf(hub->id, sizeof(hub->id), "%s", id);
    pthread_mutex_unlock(&hub->lock);
}

bool observer_hub_claim_progress(struct observer_hub *hub)
{
    if (hub->count == 0)
        return false;
    uint64_t now = clock_now_ms();
    uint_fast64_t last = atomic_load(&hub->last_progress_ms);
    if (now - last < hub->interval_ms)
        return false;
    return atomic_compare_exchange_strong(&hub->last_progress_ms, &last, now);
}

void observer_hub_emit(struct observer_hub *hub, struct transfer_event *event)
{
    if (hub->count == 0)
        return;
    pthread_mutex_lock(&hub->lock);
    event->operation = hub->operation;
    event->id = hub->id;
    event->elapsed_ms = clock_now_ms() - hub->started_ms;
    for (size_t i = 0; i < hub->count; i++)
        hub->observers[i].notify(hub->observers[i].ctx, event);
    pthread_mutex_unlock(&hub->lock);
}
