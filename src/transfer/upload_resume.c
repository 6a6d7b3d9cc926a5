/*
 * upload_resume.c - the send-and-complete flow shared by push and resume
 * (see upload_resume.h).
 */
#include "transfer/upload_resume.h"

#include <string.h>

mfb_status upload_resume_run(const struct upload_resume_config *c, struct upload_result *result,
                             struct backup_info *backup, struct mfb_error *err)
{
    const struct upload_state *state = c->state;
    memset(result, 0, sizeof(*result));
    result->size = c->size;
    if (state->complete) {
        /* Completed before (its answer was lost, say): completing again is
         * idempotent and returns the backup, if the file is the same. The
         * chunks are gone on the receiver: count them from the size. */
        if (c->on_plan)
            c->on_plan(c->ctx, NULL);
        if (state->chunk_size > 0)
            result->chunks = proto_chunk_count(c->size, state->chunk_size);
        mfb_status st = MFB_OK;
        if (c->record)
            memcpy(result->sha256, c->record->sha256, SHA256_LEN);
        else
            st = upload_hash_file(c->fd, c->path, c->size, result->sha256, err);
        if (st == MFB_OK)
            st = receiver_upload_complete(c->conn, state->upload_id, c->size, result->sha256,
                                          backup, err);
        return st;
    }

    struct resume_plan plan = {0};
    struct uploader *up = NULL;
    mfb_status st = MFB_OK;
    if (c->resuming)
        st = plan_resume(c->size, state->chunk_size, state->size_known ? (int64_t)state->size : -1,
                         state->chunks, state->chunk_count, &plan, err);
    if (st != MFB_OK)
        goto done;
    if (c->on_plan)
        c->on_plan(c->ctx, &plan);
    struct uploader_config uc = {
        .client = c->client,
        .upload_id = state->upload_id,
        .chunk_size = state->chunk_size,
        .connections = c->connections,
        .fd = c->fd,
        .path = c->path,
        .resume = c->resuming ? &plan : NULL,
        .record = c->record,
        .cancel = c->cancel,
        .observers = c->observers,
        .observer_count = c->observer_count,
    };
    st = uploader_start(&uc, &up, err);
    if (st != MFB_OK)
        goto done;
    uploader_finish(up, c->size);
    st = uploader_wait(up, result, err);
    if (st == MFB_OK && c->before_complete)
        st = c->before_complete(c->ctx, err);
    if (st == MFB_OK)
        st = receiver_upload_complete(c->conn, state->upload_id, result->size, result->sha256,
                                      backup, err);
done:
    uploader_free(up);
    resume_plan_free(&plan);
    return st;
}
