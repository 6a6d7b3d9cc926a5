/*
 * main_mfb.c - main() of the client, mfb: the table of its commands.
 */
#include "cli/commands.h"

static const struct cli_command *const commands[] = {
    &cmd_init,    &cmd_instance, &cmd_target, &cmd_alert,    &cmd_backup,
    &cmd_resume,  &cmd_archive,  &cmd_push,   &cmd_fetch,    &cmd_list,
    &cmd_restore, &cmd_logs,     &cmd_report, &cmd_settings, NULL,
};

int main(int argc, char **argv)
{
    return cli_main("mfb", "mfb: cold (full-file) backups of MySQL and MariaDB", commands, argc,
                    argv);
}
