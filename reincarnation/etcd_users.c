/*
 * etcd_users.c — the etcd users RS makes when it manages etcd's authentication: one per node
 * kernel (n-NAME) and one per service (s-LABEL), each writing only its own records, with
 * passwords derived from the trust root that RS hands over (services, in NODE_START) or the
 * PXE server does (netbooted nodes); and etcd's authentication turned on for a rack whose etcd
 * has it off (docs/security.md).
 *
 * Entry points: rs_etcd_users_setup, rs_etcd_service_user.
 */
#include <stdio.h>
#include <string.h>

#include <plexus/etcd.h>
#include <plexus/link_keys.h>
#include <plexus/log.h>

#include "rs.h"

/* Whether RS makes etcd users: it holds the trust root and logs in as root, over TLS. */
static bool s_manages(rs *self)
{
	const char *me = plx_etcd_user(self->etcd);
	return self->issues && me && strcmp(me, "root") == 0 &&
	       strncmp(plx_etcd_endpoint(self->etcd), "https://", 8) == 0;
}

/* Makes svc's user (or gives it its password again) unless done in this RS life; user and pw
 * get its name and password. Returns 0 or an etcd error (logged). */
static int s_service_user(rs *self, rs_svc *svc, char *user, size_t usize, char *pw, size_t psize)
{
	snprintf(user, usize, PLX_ETCD_SERVICE_USER "%.63s", svc->desc->label);
	plx_link_etcd_password(self->root_key, user, pw, psize);
	int rc = svc->etcd_user_made ? 0
	                             : plx_etcd_auth_service_user(self->etcd, self->cluster_name,
	                                                          svc->desc->label, pw);
	if (rc < 0)
		plx_log(PLX_LOG_WARN,
		        "etcd did not make user %s (%s): %s logs in as its environment "
		        "says",
		        user, plx_strerror(rc), svc->desc->label);
	svc->etcd_user_made = rc == 0;
	return rc;
}

void rs_etcd_users_setup(rs *self)
{
	if (!s_manages(self))
		return;
	const plx_cluster *c = self->cluster;
	char user[PLX_HANDOVER_USER_MAX], pw[PLX_ETCD_PASSWORD_MAX];
	/* the services' users now, well before their first start: an etcd member that lags a
	 * user's making refuses its password for a moment */
	for (size_t i = 0; i < self->nsvcs; i++)
		(void)s_service_user(self, &self->svcs[i], user, sizeof user, pw, sizeof pw);
	size_t made = 0;
	for (size_t i = 0; i < c->nnodes; i++) {
		snprintf(user, sizeof user, PLX_ETCD_NODE_USER "%.63s", c->nodes[i].name);
		plx_link_etcd_password(self->root_key, user, pw, sizeof pw);
		int rc =
		    plx_etcd_auth_node_user(self->etcd, self->cluster_name, c->nodes[i].name, pw);
		if (rc < 0)
			plx_log(PLX_LOG_WARN, "etcd did not make user %s: %s", user,
			        plx_strerror(rc));
		made += rc == 0;
	}
	plx_link_etcd_password(self->root_key, PLX_ETCD_CLIENT, pw, sizeof pw);
	int on = plx_etcd_auth_on(self->etcd);
	int rc = on == 0 ? plx_etcd_auth_turn_on(self->etcd, self->cluster_name, pw) : 0;
	explicit_bzero(pw, sizeof pw);
	if (on == 0 && rc == 0)
		plx_log(PLX_LOG_INFO,
		        "etcd's authentication turned on (users for %zu of %zu node "
		        "kernels)",
		        made, c->nnodes);
	else if (rc < 0 || on < 0)
		plx_log(PLX_LOG_WARN, "etcd's authentication not turned on: %s: %s",
		        plx_strerror(rc < 0 ? rc : on), plx_etcd_errmsg());
}

bool rs_etcd_service_user(rs *self, rs_svc *svc, char *user, size_t usize, char *pw, size_t psize)
{
	return s_manages(self) && s_service_user(self, svc, user, usize, pw, psize) == 0;
}
