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
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_EXIT, "exit", do_exit, &plexus__node_exit__descriptor, NULL),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_UP, "up", do_up, &plexus__rs_request__descriptor, s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_DOWN, "down", do_down, &plexus__rs_request__descriptor,
             s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_RESTART, "restart", do_restart, &plexus__rs_request__descriptor,
             s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_REFRESH, "refresh", do_refresh, &plexus__rs_request__descriptor,
             s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_SIGNAL, "signal", do_signal, &plexus__rs_request__descriptor,
             s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_POWER, "power", do_power, &plexus__rs_request__descriptor,
             s_operators),
    PLX_LOOP(PLEXUS__RS_TYPE__RS_LIST, "list", do_list, NULL, NULL),
};

const plx_handler *rs_table(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
