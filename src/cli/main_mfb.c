/*
 * main_mfb.c - main() of the client, mfb: the table of its commands.
 */
#include <string.h>

#include "cli/commands.h"
#include "job/backup/guardian.h"

static const struct cli_command *const commands[] = {
    &cmd_init,    &cmd_instance, &cmd_target,   &cmd_alert,    &cmd_backup,  &cmd_resume,
    &cmd_archive, &cmd_push,     &cmd_fetch,    &cmd_list,     &cmd_restore, &cmd_drill,
    &cmd_logs,    &cmd_report,   &cmd_settings, &cmd_schedule, &cmd_daemon,  &cmd_run,
    &cmd_jobs,    &cmd_cancel,   &cmd_ui,       NULL,
};

int main(int argc, char **argv)
{
    /* The backup's guardian (job/backup/guardian.h): started by the job itself,
     * never by a person, so it is in no command table and no --help. */
    if (argc == 2 && strcmp(argv[1], GUARDIAN_COMMAND) == 0)
        return guardian_main();
    return cli_main("mfb", "mfb: cold (full-file) backups of MySQL and MariaDB", commands, argc,
                    argv);
}
