/*
 * main_mfb_server.c - main() of the receiver, mfb-server: the table of its commands.
 */
#include "cli/commands.h"

static const struct cli_command *const commands[] = {
    &srv_init,    &srv_client, &srv_serve, &srv_list,  &srv_retention,
    &srv_catalog, &srv_expect, &srv_alert, &srv_admin, NULL,
};

int main(int argc, char **argv)
{
    return cli_main("mfb-server", "mfb-server: the receiver that stores mfb backups", commands,
                    argc, argv);
}
