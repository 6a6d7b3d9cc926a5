/*
 * curl_init.c - libcurl's global initialisation, once (see curl_init.h).
 */
#include "common/curl_init.h"

#include <curl/curl.h>
#include <pthread.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result;

static void init_curl(void)
{
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

mfb_status curl_init_once(struct mfb_error *err)
{
    pthread_once(&init_once, init_curl);
    if (init_result != CURLE_OK)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot initialise libcurl: %s",
                             curl_easy_strerror(init_result));
    return MFB_OK;
}
