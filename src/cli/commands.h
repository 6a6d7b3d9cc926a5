/*
 * commands.h - every command of the two programs, one struct cli_command
 * each, defined in the cmd_*.c (mfb) and srv_*.c (mfb-server) files.
 */
#ifndef MFB_CLI_COMMANDS_H
#define MFB_CLI_COMMANDS_H

#include "cli/options.h"

/* mfb */
extern const struct cli_command cmd_archive; /* group: create, test, extract, list */
extern const struct cli_command cmd_push;
extern const struct cli_command cmd_fetch;
extern const struct cli_command cmd_backup;
extern const struct cli_command cmd_resume;
extern const struct cli_command cmd_alert; /* group: add, list, remove, test */
extern const struct cli_command cmd_init;
extern const struct cli_command cmd_instance; /* group: add, list, show, set, remove, check */
extern const struct cli_command cmd_target;   /* group: add, list, show, set, remove, check */
extern const struct cli_command cmd_list;
extern const struct cli_command cmd_restore;
extern const struct cli_command cmd_drill;
extern const struct cli_command cmd_logs; /* and: show JOB */
extern const struct cli_command cmd_report;
extern const struct cli_command cmd_settings; /* group: show, set, reset */
extern const struct cli_command
    cmd_schedule;                           /* group: add, list, show, set, remove, pause, resume */
extern const struct cli_command cmd_daemon; /* and: status */
extern const struct cli_command cmd_run;
extern const struct cli_command cmd_jobs;
extern const struct cli_command cmd_cancel;
extern const struct cli_command cmd_ui; /* group: passwd, init */

/* mfb-server */
extern const struct cli_command srv_init;
extern const struct cli_command srv_client; /* group: add, list, remove */
extern const struct cli_command srv_serve;
extern const struct cli_command srv_list;
extern const struct cli_command srv_retention; /* group: set, show */
extern const struct cli_command srv_catalog;   /* group: rebuild */
extern const struct cli_command srv_expect;    /* group: set, list, remove */
extern const struct cli_command srv_alert;     /* group: add, list, remove, test */
extern const struct cli_command srv_admin;     /* group: passwd */

#endif
