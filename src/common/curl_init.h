/*
 * curl_init.h - libcurl's process-wide initialisation, done once.
 *
 * curl_global_init is not thread-safe and must run before any easy handle
 * exists; both users of libcurl (the transfer client and the alert
 * channels) may be the first, from any thread, so it runs under
 * pthread_once and every caller gets its result.
 */
#ifndef MFB_COMMON_CURL_INIT_H
#define MFB_COMMON_CURL_INIT_H

#include "common/status.h"

/* Initialises libcurl on the first call; MFB_ERR_INTERNAL when it failed. */
mfb_status curl_init_once(struct mfb_error *err);

#endif
