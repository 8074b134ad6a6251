/*
 * test-ds.c — the DS API against a private etcd: publish/retrieve of every type, ownership and
 * privileges, delete, subscriptions with patterns, types and the initial flag, delivery through
 * the eventfd, malformed records.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/ds.h>

#include "plexus/proto/ds.pb-c.h"

#include "etcd_fixture.h"

static plx_etcdh *s_h;
static plx_etcd *s_etcd;

static int s_setup(void **state)
{
	(void)state;
	return etcd_fixture_start(&s_h, &s_etcd);
}

static int s_teardown(void **state)
{
	(void)state;
	etcd_fixture_stop(&s_h, &s_etcd);
	return 0;
}

static plx_ds *s_ds(const char *cluster, const char *owner)
{
	plx_ds *ds = plx_ds_new(s_etcd, cluster, owner);
	assert_non_null(ds);
	return ds;
}

/* Waits up to ms for the ds fd to become readable. */
static bool s_readable(plx_ds *ds, int ms)
{
	struct pollfd pfd = {.fd = plx_ds_fd(ds), .events = POLLIN};
	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* Collects every change waiting (after the fd said so) into keys, comma-separated. */
static int s_drain(plx_ds *ds, char *keys, size_t size)
{
	plx_ds_change c;
	int n = 0;
	keys[0] = '\0';
	while (plx_ds_check(ds, &c) == 0) {
		size_t len = strlen(keys);
		snprintf(keys + len, size - len, "%s%s%s", n ? "," : "", c.deleted ? "-" : "",
		         c.key);
		n++;
	}
	return n;
}

static void test_publish_retrieve_types(void **state)
{
	(void)state;
	plx_ds *ds = s_ds("c1", "svc");
	assert_int_equal(plx_ds_publish_u32(ds, "count", 42, 0), 0);
	assert_int_equal(plx_ds_publish_str(ds, "name", "hello world", 0), 0);
	uint8_t blob[300];
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	assert_int_equal(plx_ds_publish_mem(ds, "blob", blob, sizeof blob, 0), 0);
	assert_int_equal(plx_ds_publish_label(ds, "drv.blk.vdisk", "vdisk", 7, 0), 0);

	uint32_t u = 0;
	assert_int_equal(plx_ds_retrieve_u32(ds, "count", &u), 0);
	assert_int_equal(u, 42);
	char str[8];
	assert_int_equal(plx_ds_retrieve_str(ds, "name", str, sizeof str), 11);
	assert_string_equal(str, "hello w"); /* truncated, NUL-terminated */
	uint8_t back[400];
	size_t size = sizeof back;
	assert_int_equal(plx_ds_retrieve_mem(ds, "blob", back, &size), 300);
	assert_int_equal(size, 300);
	assert_memory_equal(back, blob, 300);
	size = 10;
	assert_int_equal(plx_ds_retrieve_mem(ds, "blob", back, &size), 300);
	assert_int_equal(size, 10);
	char label[64];
	uint64_t gen = 0;
	assert_int_equal(plx_ds_retrieve_label(ds, "drv.blk.vdisk", label, sizeof label, &gen), 0);
	assert_string_equal(label, "vdisk");
	assert_int_equal(gen, 7);

	/* Wrong type or no such key: ESRCH, outputs untouched. */
	u = 99;
	assert_int_equal(plx_ds_retrieve_u32(ds, "name", &u), -ESRCH);
	assert_int_equal(plx_ds_retrieve_u32(ds, "nothing", &u), -ESRCH);
	assert_int_equal(u, 99);

	/* The record lives under the owner's path, the index names the owner. */
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(s_etcd, "/plexus/c1/ds/svc/count", &kv), 0);
	assert_non_null(strstr((char *)kv->value, "\"u32\""));
	plx_kv_free(&kv);
	assert_int_equal(plx_etcd_get(s_etcd, "/plexus/c1/ds-owner/count", &kv), 0);
	assert_string_equal((char *)kv->value, "svc");
	plx_kv_free(&kv);

	plx_ds_entry *list = NULL;
	assert_int_equal(plx_ds_list(ds, "", &list), 4);
	assert_string_equal(list[0].key, "blob");
	assert_string_equal(list[3].key, "name");
	assert_int_equal(list[1].type, PLX_DSF_TYPE_U32);
	plx_ds_entries_free(&list, 4);
	assert_int_equal(plx_ds_list(ds, "drv.", &list), 1);
	plx_ds_entries_free(&list, 1);
	plx_ds_destroy(&ds);
	assert_null(ds);
}

/* EEXIST without OVERWRITE; ownership moves on overwrite; privileges as MINIX. */
static void test_ownership_and_privileges(void **state)
{
	(void)state;
	plx_ds *a = s_ds("c2", "alpha"), *b = s_ds("c2", "beta");
	assert_int_equal(plx_ds_publish_u32(a, "k", 1, 0), 0);
	assert_int_equal(plx_ds_publish_u32(a, "k", 2, 0), -EEXIST);
	assert_int_equal(plx_ds_publish_u32(b, "k", 3, 0), -EEXIST);
	assert_int_equal(plx_ds_publish_u32(b, "k", 3, PLX_DSF_OVERWRITE), 0);
	plx_ds_entry *e = NULL;
	assert_int_equal(plx_ds_get(a, "k", &e), 0);
	assert_string_equal(e->owner, "beta");
	assert_int_equal(e->u32, 3);
	plx_ds_entry_free(&e);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(s_etcd, "/plexus/c2/ds/alpha/k", &kv), -ENOENT);

	assert_int_equal(plx_ds_delete(a, "k", 0), -EPERM); /* only the owner deletes */

	assert_int_equal(plx_ds_publish_u32(a, "locked", 1, PLX_DSF_PRIV_OVERWRITE), 0);
	assert_int_equal(plx_ds_publish_u32(b, "locked", 2, PLX_DSF_OVERWRITE), -EPERM);
	assert_int_equal(plx_ds_publish_u32(a, "locked", 5, PLX_DSF_OVERWRITE), 0);

	assert_int_equal(plx_ds_publish_str(a, "secret", "s", PLX_DSF_PRIV_RETRIEVE), 0);
	char buf[8];
	assert_int_equal(plx_ds_retrieve_str(b, "secret", buf, sizeof buf), -EPERM);
	assert_int_equal(plx_ds_retrieve_str(a, "secret", buf, sizeof buf), 1);
	plx_ds_entry *list = NULL;
	int n = plx_ds_list(b, "", &list);
	assert_int_equal(n, 2); /* k, locked: not secret */
	plx_ds_entries_free(&list, (size_t)n);

	assert_int_equal(plx_ds_delete(b, "k", PLX_DSF_TYPE_STR), -ESRCH);
	assert_int_equal(plx_ds_delete(b, "k", PLX_DSF_TYPE_U32), 0);
	assert_int_equal(plx_ds_delete(b, "k", 0), -ESRCH);
	uint32_t u;
	assert_int_equal(plx_ds_retrieve_u32(a, "k", &u), -ESRCH);
	plx_ds_destroy(&a);
	plx_ds_destroy(&b);
}

static void test_subscribe_patterns(void **state)
{
	(void)state;
	plx_ds *vfs = s_ds("c3", "vfs"), *drv = s_ds("c3", "vdisk");
	char keys[512];
	assert_int_equal(plx_ds_check(vfs, &(plx_ds_change){0}), -ESRCH);
	/* The pattern VFS uses in MINIX; anchored, so "xdrv.blk.a" does not match. */
	assert_int_equal(plx_ds_subscribe(vfs, "drv\\.[bc]..\\..*", 0), 0);
	assert_int_equal(plx_ds_subscribe(vfs, "other", 0), -EEXIST);
	assert_int_equal(plx_ds_subscribe(vfs, "(", PLX_DSF_OVERWRITE), -EINVAL);
	assert_false(s_readable(vfs, 0));

	assert_int_equal(plx_ds_publish_str(drv, "drv.blk.vdisk", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(drv, "xdrv.blk.a", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(drv, "drv.net.eth0", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(drv, "drv.chr.tty", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(drv, "drv.blk.vdisk", "down", PLX_DSF_OVERWRITE), 0);
	assert_true(s_readable(vfs, 3000));
	usleep(300 * 1000); /* let the watch deliver all five */
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 2);
	assert_string_equal(keys, "drv.blk.vdisk,drv.chr.tty"); /* one per key */
	assert_false(s_readable(vfs, 0));

	plx_ds_change c;
	assert_int_equal(plx_ds_delete(drv, "drv.chr.tty", 0), 0);
	assert_true(s_readable(vfs, 3000));
	assert_int_equal(plx_ds_check(vfs, &c), 0);
	assert_string_equal(c.key, "drv.chr.tty");
	assert_string_equal(c.owner, "vdisk");
	assert_int_equal(c.type, PLX_DSF_TYPE_STR);
	assert_true(c.deleted);
	assert_int_equal(plx_ds_check(vfs, &c), -ENOENT);

	/* A type filter: only u32 values. */
	assert_int_equal(plx_ds_subscribe(vfs, "drv\\..*", PLX_DSF_OVERWRITE | PLX_DSF_TYPE_U32),
	                 0);
	assert_int_equal(plx_ds_publish_str(drv, "drv.blk.s", "x", 0), 0);
	assert_int_equal(plx_ds_publish_u32(drv, "drv.blk.n", 1, 0), 0);
	assert_true(s_readable(vfs, 3000));
	usleep(200 * 1000);
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 1);
	assert_string_equal(keys, "drv.blk.n");

	/* A key kept private from subscribers is not reported to others. */
	assert_int_equal(plx_ds_subscribe(vfs, "p.*", PLX_DSF_OVERWRITE), 0);
	assert_int_equal(plx_ds_publish_u32(drv, "p.hidden", 1, PLX_DSF_PRIV_SUBSCRIBE), 0);
	assert_int_equal(plx_ds_publish_u32(drv, "p.open", 1, 0), 0);
	assert_true(s_readable(vfs, 3000));
	usleep(200 * 1000);
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 1);
	assert_string_equal(keys, "p.open");
	plx_ds_destroy(&vfs);
	plx_ds_destroy(&drv);
}

/* DSF_INITIAL: the current matches are queued at once, the fd is readable right away. */
static void test_subscribe_initial(void **state)
{
	(void)state;
	plx_ds *rs = s_ds("c4", "rs"), *vfs = s_ds("c4", "vfs");
	assert_int_equal(plx_ds_publish_str(rs, "drv.blk.a", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(rs, "drv.blk.b", "up", 0), 0);
	assert_int_equal(plx_ds_publish_str(rs, "misc", "x", 0), 0);
	assert_int_equal(plx_ds_subscribe(vfs, "drv\\.blk\\..*", PLX_DSF_INITIAL), 0);
	assert_true(s_readable(vfs, 0));
	char keys[256];
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 2);
	assert_string_equal(keys, "drv.blk.a,drv.blk.b");
	assert_false(s_readable(vfs, 0));
	/* Later changes follow. */
	assert_int_equal(plx_ds_publish_str(rs, "drv.blk.c", "up", 0), 0);
	assert_true(s_readable(vfs, 3000));
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 1);
	assert_string_equal(keys, "drv.blk.c");

	/* Without the flag nothing is queued for existing keys. */
	plx_ds *other = s_ds("c4", "other");
	assert_int_equal(plx_ds_subscribe(other, "drv\\.blk\\..*", 0), 0);
	assert_false(s_readable(other, 300));
	plx_ds_destroy(&other);
	plx_ds_destroy(&rs);
	plx_ds_destroy(&vfs);
}

/* The MINIX shape: a server's own message loop gets a notify from "ds", then checks. */
static void s_expect_ds_notify(plx_ep *ep)
{
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(ep, &msg, 5000), 0);
	assert_int_equal(msg->kind, PLX_NOTIFY);
	assert_int_equal(msg->type, PLEXUS__DS_TYPE__DS_NOTIFY);
	assert_string_equal(msg->source.label, "ds");
	plx_msg_destroy(&msg);
}

static void test_notify_reaches_the_message_loop(void **state)
{
	(void)state;
	plx_ds *rs = s_ds("c7", "rs"), *vfs = s_ds("c7", "vfs");
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, "vfs", 1);
	assert_int_equal(plx_ep_bind(ep, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(plx_ds_publish_str(rs, "drv.chr.tty", "up", 0), 0);
	assert_int_equal(plx_ds_subscribe(vfs, "drv\\.chr\\..*", PLX_DSF_INITIAL), 0);
	assert_int_equal(plx_ds_notify_to(vfs, ep), 0); /* changes already wait: notified now */
	s_expect_ds_notify(ep);
	char keys[256];
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 1);
	assert_string_equal(keys, "drv.chr.tty");
	/* A restarted driver announces itself again: another notify, another check. */
	assert_int_equal(plx_ds_publish_str(rs, "drv.chr.tty", "up", PLX_DSF_OVERWRITE), 0);
	s_expect_ds_notify(ep);
	assert_int_equal(s_drain(vfs, keys, sizeof keys), 1);
	assert_string_equal(keys, "drv.chr.tty");
	/* Nothing else arrives. */
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(ep, &msg, 300), -ETIMEDOUT);
	assert_int_equal(plx_ds_notify_to(vfs, NULL), 0);
	plx_ds_destroy(&vfs);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	plx_ds_destroy(&rs);
}

/* Values in etcd that are not DS records: an error on retrieve, type 0 in listings. */
static void test_malformed_records(void **state)
{
	(void)state;
	plx_ds *ds = s_ds("c5", "svc");
	const char *bad[] = {"not json", "{\"type\":\"u32\",\"flags\":0,\"value\":\"x\"}",
	                     "{\"type\":\"mem\",\"flags\":0,\"value\":\"@@@\"}",
	                     "{\"type\":\"nope\",\"flags\":0,\"value\":1}",
	                     "{\"type\":\"u32\",\"flags\":0,\"value\":99999999999}"};
	char path[64];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char key[16];
		snprintf(key, sizeof key, "bad%zu", i);
		snprintf(path, sizeof path, "/plexus/c5/ds/svc/%s", key);
		assert_int_equal(plx_etcd_put(s_etcd, path, bad[i], strlen(bad[i]), 0, NULL), 0);
		snprintf(path, sizeof path, "/plexus/c5/ds-owner/%s", key);
		assert_int_equal(plx_etcd_put(s_etcd, path, "svc", 3, 0, NULL), 0);
		plx_ds_entry *e = NULL;
		assert_int_equal(plx_ds_get(ds, key, &e), -EBADMSG);
		assert_null(e);
	}
	/* An index that names an impossible owner. */
	assert_int_equal(plx_etcd_put(s_etcd, "/plexus/c5/ds-owner/w", "a/b", 3, 0, NULL), 0);
	uint32_t u = 5;
	assert_int_equal(plx_ds_retrieve_u32(ds, "w", &u), -EBADMSG);
	assert_int_equal(u, 5);
	plx_ds_entry *list = NULL;
	assert_int_equal(plx_ds_list(ds, "bad", &list), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(list[i].type, 0);
	plx_ds_entries_free(&list, 5);
	/* A broken record may be overwritten by a publish with OVERWRITE. */
	assert_int_equal(plx_ds_publish_u32(ds, "bad0", 1, PLX_DSF_OVERWRITE), 0);
	assert_int_equal(plx_ds_retrieve_u32(ds, "bad0", &u), 0);
	assert_int_equal(u, 1);
	plx_ds_destroy(&ds);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_null(plx_ds_new(s_etcd, "c", "a/b"));
	assert_int_equal(errno, EINVAL);
	assert_null(plx_ds_new(s_etcd, "", "a"));
	plx_ds *ds = s_ds("c6", "svc");
	assert_int_equal(plx_ds_publish_u32(ds, "", 1, 0), -EINVAL);
	assert_int_equal(plx_ds_publish_str(ds, "k", "\xff\xfe", 0), -EINVAL);
	assert_int_equal(plx_ds_publish_label(ds, "k", "x", 0, 0), -EINVAL);
	assert_int_equal(plx_ds_subscribe(ds, "x", 0x8000), -EINVAL);
	plx_ds_destroy(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publish_retrieve_types),
	    cmocka_unit_test(test_ownership_and_privileges),
	    cmocka_unit_test(test_subscribe_patterns),
	    cmocka_unit_test(test_subscribe_initial),
	    cmocka_unit_test(test_notify_reaches_the_message_loop),
	    cmocka_unit_test(test_malformed_records),
	    cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
