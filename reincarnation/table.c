/*
 * table.c — plexus-rs's dispatch table: message type to handler. Exit reports come from the
 * node kernels (any sender: a node's label is node.<name>, checked against the service's node
 * in exit.c); the calls that change services (up, down, restart, refresh, signal) and power nodes
 * from operators' commands (plexus-*: `plexus service`, `plexus down`) and RS peers, as MINIX's
 * `service` command is root's; the list from anyone. Labels are proved on secured links
 * (docs/security.md). IPC_PING is the server library's. Every call runs in the loop thread
 * (PLX_IN_LOOP); each entry names its allow-list (NULL: the server's callers).
 *
 * Entry points: rs_table.
 */
#include "rs.h"

static const char *const s_operators[] = {"plexus-*", "rs", NULL};

static const plx_handler s_table[] = {
    {.type = PLEXUS__NODE_TYPE__NODE_EXIT,
     .name = "exit",
     .fn = do_exit,
     .body = &plexus__node_exit__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__RS_TYPE__RS_UP,
     .name = "up",
     .fn = do_up,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_DOWN,
     .name = "down",
     .fn = do_down,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_RESTART,
     .name = "restart",
     .fn = do_restart,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_REFRESH,
     .name = "refresh",
     .fn = do_refresh,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_SIGNAL,
     .name = "signal",
     .fn = do_signal,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_POWER,
     .name = "power",
     .fn = do_power,
     .body = &plexus__rs_request__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = s_operators},
    {.type = PLEXUS__RS_TYPE__RS_LIST,
     .name = "list",
     .fn = do_list,
     .body = NULL,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
};

const plx_handler *rs_table(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
