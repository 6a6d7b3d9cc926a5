/*
 * config_map.h - what a stored configuration record means to the modules
 * that act on it: an instance becomes a MySQL endpoint and a stop/start
 * method (src/mysql), a target a receiver description (src/transfer).
 *
 * The store keeps plain typed records and knows nothing of libmariadb or
 * libcurl; the mysql and transfer modules know nothing of the store. These
 * few functions are the only bridge, so validation before saving and the
 * backup job read a record in exactly the same way.
 */
#ifndef MFB_JOB_CONFIG_MAP_H
#define MFB_JOB_CONFIG_MAP_H

#include "common/status.h"
#include "mysql/connection.h"
#include "mysql/method.h"
#include "store/config_records.h"
#include "transfer/https.h"

/* Points ep at inst's connection fields (borrowed: inst must outlive ep). */
void config_map_endpoint(const struct config_instance *inst, struct mysql_endpoint *ep);

/* Builds the stop/start method of inst, checking that its commands fit the
 * method (mysql_method_parse). Release with mysql_method_free. */
mfb_status config_map_method(const struct config_instance *inst, struct mysql_method *method,
                             struct mfb_error *err);

/* Points tt at t's fields (borrowed). */
void config_map_target(const struct config_target *t, struct transfer_target *tt);

#endif
