/*
 * policy.c — what RS decides, without any I/O: state names, exit descriptions and the restart
 * decision (MINIX RS's binary exponential backoff, restart policies, giving up). Lab 3's
 * reference solution: the same file as reincarnation/policy.c.
 *
 * Entry points: rs_state_name, rs_state_parse, rs_after_exit, rs_backoff_ms, rs_exit_text.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "rs.h"

static const char *const s_names[RS_NSTATES] = {"down",     "pending", "starting", "up",
                                                "stopping", "backoff", "waiting",  "failed",
                                                "exited",   "given-up"};

const char *rs_state_name(rs_state state)
{
	return (unsigned)state < RS_NSTATES ? s_names[state] : "?";
}

int rs_state_parse(const char *name, rs_state *state)
{
	for (int i = 0; name && i < RS_NSTATES; i++)
		if (strcmp(name, s_names[i]) == 0) {
			*state = (rs_state)i;
			return 0;
		}
	return -EINVAL;
}

int64_t rs_backoff_ms(const plx_cluster_service *desc, uint32_t streak)
{
	if (streak == 0)
		return 0;
	int64_t cap = desc->backoff_cap_ms;
	int64_t d = desc->backoff_ms;
	for (uint32_t i = 0; i < streak && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

rs_action rs_after_exit(const plx_cluster_service *desc, bool failure, bool ready, bool node_death,
                        int64_t uptime_ms, uint32_t *streak, uint32_t *init_fails,
                        int64_t *delay_ms)
{
	*delay_ms = 0;
	if (desc->restart == PLX_RESTART_NEVER)
		return failure ? RS_ACT_FAILED : RS_ACT_EXITED;
	if (desc->restart == PLX_RESTART_ON_FAILURE && !failure)
		return RS_ACT_EXITED;
	if (node_death)
		return RS_ACT_RESTART; /* not the service's fault: no verdict, no wait */
	if (!ready) { /* failed during initialization: a few tries, spaced out, not a loop */
		if (*init_fails >= (uint32_t)desc->init_retries)
			return RS_ACT_FAILED;
		*delay_ms = rs_backoff_ms(desc, ++*init_fails);
		return RS_ACT_RESTART;
	}
	if (uptime_ms >= desc->backoff_cap_ms)
		*streak = 0; /* it ran long enough: a new streak starts with an immediate restart */
	if (desc->max_restarts > 0 && *streak >= (uint32_t)desc->max_restarts)
		return RS_ACT_GIVE_UP;
	*delay_ms = rs_backoff_ms(desc, *streak);
	return RS_ACT_RESTART;
}

bool rs_exit_text(bool signaled, int status, char *out, size_t size)
{
	if (signaled) {
		const char *name = sigabbrev_np(status);
		snprintf(out, size, "killed by signal %d%s%s", status, name ? " SIG" : "",
		         name ? name : "");
		return true;
	}
	snprintf(out, size, "exit %d", status);
	return status != 0;
}
