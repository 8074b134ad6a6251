/*
 * leader.c — which RS instance acts: the one holding /plexus/<cluster>/rs/leader, a key put
 * on the holder's lease by a transaction that requires the key to be absent (compare and
 * swap). When the holder dies its lease expires, the key vanishes, and the next instance that
 * polls takes it.
 *
 * Entry points: rs_leader_key, rs_leader_acquire, rs_leader_regain.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <plexus/log.h>

#include "rs.h"

#define S_POLL_MS    200
#define S_GIVE_UP_MS 30000

void rs_leader_key(const char *cluster, char *out, size_t size)
{
	snprintf(out, size, "/plexus/%s/rs/leader", cluster);
}

/* One attempt: 1 acquired, 0 held by another, or an etcd error. */
static int s_try(plx_etcd *etcd, const char *key, const char *value, plx_lease *lease)
{
	plx_cmp cmp = {.key = key, .target = PLX_CMP_CREATE, .result = PLX_CMP_EQUAL, .number = 0};
	plx_op put = {.type = PLX_OP_PUT,
	              .key = key,
	              .value = value,
	              .value_size = strlen(value),
	              .lease = plx_lease_id(lease)};
	plx_txn txn = {.cmp = &cmp, .ncmp = 1, .success = &put, .nsuccess = 1};
	return plx_etcd_txn(etcd, &txn, NULL);
}

int rs_leader_acquire(plx_etcd *etcd, const char *cluster, const char *name, const char *addr,
                      int ttl, volatile int *stop, plx_lease **lease_p)
{
	char key[256];
	rs_leader_key(cluster, key, sizeof key);
	json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "addr", addr, "pid",
	                      (json_int_t)getpid(), "since", (json_int_t)rs_now_ms());
	char *value = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!value)
		return -ENOMEM;
	plx_lease *lease = NULL;
	int64_t failing_since = 0;
	bool said_waiting = false;
	int rc = -ECANCELED;
	while (!*stop) {
		if (!lease || !plx_lease_alive(lease)) {
			plx_lease_destroy(&lease, false);
			lease = plx_lease_new(etcd, ttl);
		}
		rc = lease ? s_try(etcd, key, value, lease) : -errno;
		if (rc == 1)
			break;
		if (rc < 0) {
			if (!failing_since)
				failing_since = rs_mono_ms();
			else if (rs_mono_ms() - failing_since > S_GIVE_UP_MS)
				break;
		} else {
			failing_since = 0;
			if (!said_waiting)
				plx_log(PLX_LOG_INFO, "%s: another instance leads; standing by",
				        name);
			said_waiting = true;
		}
		struct timespec ts = {0, S_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(value);
	if (rc != 1) {
		plx_lease_destroy(&lease, true);
		return rc < 0 ? rc : -ECANCELED;
	}
	*lease_p = lease;
	return 0;
}

int rs_leader_regain(plx_etcd *etcd, const char *cluster, const char *name, const char *addr,
                     int ttl, plx_lease **lease_p)
{
	char key[256];
	rs_leader_key(cluster, key, sizeof key);
	json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "addr", addr, "pid",
	                      (json_int_t)getpid(), "since", (json_int_t)rs_now_ms());
	char *value = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!value)
		return -ENOMEM;
	plx_lease *lease = plx_lease_new(etcd, ttl);
	int rc = lease ? s_try(etcd, key, value, lease) : (errno ? -errno : -EIO);
	free(value);
	if (rc != 1) {
		plx_lease_destroy(&lease, true);
		return rc;
	}
	plx_lease_destroy(lease_p, false);
	*lease_p = lease;
	return 1;
}
