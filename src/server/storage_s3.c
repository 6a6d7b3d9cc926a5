/*
 * storage_s3.c - the S3 driver (see storage.h).
 */
#include "server/storage_internal.h"

mfb_status storage_s3_open(const struct storage_config *cfg, struct storage **out,
                           struct mfb_error *err)
{
    (void)cfg;
    *out = NULL;
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "s3 storage is not built in");
}
