/*
 * config_map.c - configuration records to mysql and transfer descriptions
 * (see config_map.h).
 */
#include "job/config_map.h"

#include <string.h>

void config_map_endpoint(const struct config_instance *inst, struct mysql_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->socket = inst->socket;
    ep->host = inst->host;
    ep->port = inst->port;
    ep->user = inst->user;
    ep->password = inst->password;
}

mfb_status config_map_method(const struct config_instance *inst, struct mysql_method *method,
                             struct mfb_error *err)
{
    char spec[512];
    config_control_format(inst->control, inst->service, spec, sizeof(spec));
    return mysql_method_parse(spec, inst->start_cmd, inst->stop_cmd, method, err);
}

void config_map_target(const struct config_target *t, struct transfer_target *tt)
{
    memset(tt, 0, sizeof(*tt));
    tt->url = t->url;
    tt->token = t->token;
    tt->fingerprint = t->fingerprint;
    tt->ca_file = t->ca_file;
}
