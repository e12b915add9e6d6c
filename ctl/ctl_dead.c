/* ctl_dead.c - dead ls | replay | delete: the dead-letter set. */
#include <stdio.h>
#include <string.h>

#include "ctl_cmd.h"

int ctl_cmd_dead(ctl_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return ctl_usage_error(ctx, "dead", "say ls, replay KEY... or delete KEY...");
    const char *sub = argv[1];
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
        return ctl_list_run(ctx, argc - 1, argv + 1, 1);
    if (strcmp(sub, "replay") == 0)
        return ctl_cmd_replay(ctx, argc - 1, argv + 1);
    if (strcmp(sub, "delete") == 0 || strcmp(sub, "rm") == 0)
        return ctl_cmd_delete_keys(ctx, argc - 1, argv + 1, 1);
    char msg[128];
    snprintf(msg, sizeof msg, "unknown dead subcommand (ls, replay, delete)");
    return ctl_usage_error(ctx, "dead", msg);
}
