/*
 * table.c — plexus-node's dispatch table: message type to handler, with the policy of each
 * (MINIX's system.conf): START, STOP, SIGNAL and IPC_SHUTDOWN from RS only; NODE_TRACE_READ
 * from operators' commands (plexus-*); NODE_LIST and the server library's IPC_PING from
 * anyone. Every call runs in the loop thread (PLX_IN_LOOP).
 *
 * Entry points: node_table.
 */
#include "node.h"
#include "plexus/proto/ipc.pb-c.h"

static const char *s_rs_only[2];
static const char *const s_operators[] = {"plexus-*", NULL}; /* operators' commands */

static const plx_handler s_table[] = {
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_START, "start", do_start, &plexus__node_start__descriptor,
             s_rs_only),
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_STOP, "stop", do_stop, &plexus__node_stop__descriptor,
             s_rs_only),
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_SIGNAL, "signal", do_signal, &plexus__node_signal__descriptor,
             s_rs_only),
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_LIST, "list", do_list, NULL, NULL),
    PLX_LOOP(PLEXUS__NODE_TYPE__NODE_TRACE_READ, "trace_read", do_trace_read,
             &plexus__node_trace_read__descriptor, s_operators),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_SHUTDOWN, "shutdown", do_shutdown, NULL, s_rs_only),
};

const plx_handler *node_table(const char *rs_label, size_t *n)
{
	s_rs_only[0] = rs_label;
	s_rs_only[1] = NULL;
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
