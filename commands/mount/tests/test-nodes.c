/*
 * test-nodes.c — the mount's inode table (nodes.c) on its own: node ids for names, paths built
 * through the parents, hard links, renames, unlinks, forgets, inode numbers given again, paths
 * longer than VFS takes, a loop of stale names that must end in ELOOP, not a hang, and the
 * nodes and names a change VFS reports leads to. Run
 * under AddressSanitizer too, which would catch a node freed while a name still points at it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mount.h"

static mount_ctx s_ctx;

static int s_setup(void **state)
{
	(void)state;
	memset(&s_ctx, 0, sizeof s_ctx);
	mount_nodes_init(&s_ctx);
	return 0;
}

static int s_teardown(void **state)
{
	(void)state;
	mount_nodes_free(&s_ctx);
	return 0;
}

/* A lookup's answer: inode ino of device 1. */
static fuse_ino_t s_learn(fuse_ino_t parent, const char *name, ino_t ino)
{
	struct stat st = {.st_dev = 1, .st_ino = ino};
	fuse_ino_t id = mount_node_learn(&s_ctx, parent, name, &st);
	assert_true(id > FUSE_ROOT_ID);
	return id;
}

/* Checks node id's path (with name appended when not NULL). */
static void s_path_is(fuse_ino_t id, const char *name, const char *want)
{
	char *path = NULL;
	assert_int_equal(mount_node_path(&s_ctx, id, name, &path), 0);
	assert_string_equal(path, want);
	free(path);
}

static int s_path_rc(fuse_ino_t id)
{
	char *path = NULL;
	int rc = mount_node_path(&s_ctx, id, NULL, &path);
	free(path);
	return rc;
}

static void test_paths(void **state)
{
	(void)state;
	s_path_is(FUSE_ROOT_ID, NULL, "/");
	s_path_is(FUSE_ROOT_ID, "a", "/a");
	fuse_ino_t a = s_learn(FUSE_ROOT_ID, "a", 5);
	fuse_ino_t b = s_learn(a, "b", 6);
	s_path_is(a, NULL, "/a");
	s_path_is(b, NULL, "/a/b");
	s_path_is(b, "c", "/a/b/c");
	assert_int_equal(s_learn(a, "b", 6), b); /* the same name again: the same node */
	struct stat st = {.st_dev = 1, .st_ino = 6};
	assert_true(mount_node_same(&s_ctx, b, &st));
	st.st_ino = 7;
	assert_false(mount_node_same(&s_ctx, b, &st));
	assert_int_equal(s_path_rc(999), -ESTALE); /* no such node */
}

/* Finds (parent, name) in known[0..n); its node, or 0. */
static fuse_ino_t s_known(const mount_known *known, long n, fuse_ino_t parent, const char *name)
{
	for (long i = 0; i < n; i++)
		if (known[i].parent == parent && strcmp(known[i].name, name) == 0)
			return known[i].node;
	return 0;
}

/* What the mount has the kernel forget when a file server restarts: every name it knows. */
static void test_known_names(void **state)
{
	(void)state;
	fuse_ino_t a = s_learn(FUSE_ROOT_ID, "a", 5);
	fuse_ino_t b = s_learn(a, "b", 6);
	assert_int_equal(s_learn(FUSE_ROOT_ID, "link", 6), b); /* a hard link: one node */
	mount_known *known = NULL;
	long n = mount_nodes_known(&s_ctx, &known);
	assert_int_equal(n, 3);
	assert_int_equal(s_known(known, n, FUSE_ROOT_ID, "a"), a);
	assert_int_equal(s_known(known, n, a, "b"), b);
	assert_int_equal(s_known(known, n, FUSE_ROOT_ID, "link"), b);
	mount_known_free(known, n);
	mount_node_unlearn(&s_ctx, FUSE_ROOT_ID, "link");
	assert_int_equal(n = mount_nodes_known(&s_ctx, &known), 2);
	assert_int_equal(s_known(known, n, FUSE_ROOT_ID, "link"), 0);
	mount_known_free(known, n);
}

static void test_rename_and_unlink(void **state)
{
	(void)state;
	fuse_ino_t a = s_learn(FUSE_ROOT_ID, "a", 5);
	fuse_ino_t b = s_learn(a, "b", 6);
	fuse_ino_t d = s_learn(FUSE_ROOT_ID, "d", 8);
	mount_node_moved(&s_ctx, a, "b", d, "e"); /* mv /a/b /d/e */
	s_path_is(b, NULL, "/d/e");
	fuse_ino_t x = s_learn(d, "x", 9);
	mount_node_moved(&s_ctx, FUSE_ROOT_ID, "d", FUSE_ROOT_ID, "z"); /* a directory moved */
	s_path_is(x, NULL, "/z/x");
	s_path_is(b, NULL, "/z/e");
	fuse_ino_t y = s_learn(d, "y", 10);
	mount_node_moved(&s_ctx, d, "y", d, "x"); /* over x: x has no name left */
	s_path_is(y, NULL, "/z/x");
	assert_int_equal(s_path_rc(x), -ESTALE);
	mount_node_unlearn(&s_ctx, d, "x");
	assert_int_equal(s_path_rc(y), -ESTALE);
	mount_node_forget(&s_ctx, x, 1);
	mount_node_forget(&s_ctx, y, 1);
}

static void test_hard_links_and_reuse(void **state)
{
	(void)state;
	fuse_ino_t a = s_learn(FUSE_ROOT_ID, "a", 5);
	assert_int_equal(s_learn(FUSE_ROOT_ID, "link", 5), a); /* one node for one inode */
	s_path_is(a, NULL, "/link");                           /* by its newest name */
	mount_node_unlearn(&s_ctx, FUSE_ROOT_ID, "link");
	s_path_is(a, NULL, "/a");
	mount_node_unlearn(&s_ctx, FUSE_ROOT_ID, "a");
	assert_int_equal(s_path_rc(a), -ESTALE); /* held by the kernel, nameless */
	/* the file system gives inode 5 to a new file: a node of its own */
	fuse_ino_t n = s_learn(FUSE_ROOT_ID, "new", 5);
	assert_int_not_equal(n, a);
	s_path_is(n, NULL, "/new");
	assert_int_equal(s_path_rc(a), -ESTALE);
	mount_node_forget(&s_ctx, a, 2); /* the kernel lets go of the old one */
	assert_int_equal(s_path_rc(a), -ESTALE);
	s_path_is(n, NULL, "/new");
	/* a name found to lead to another inode now is that inode's */
	fuse_ino_t o = s_learn(FUSE_ROOT_ID, "new", 11);
	assert_int_not_equal(o, n);
	assert_int_equal(s_path_rc(n), -ESTALE);
}

static void test_forget_keeps_parents(void **state)
{
	(void)state;
	fuse_ino_t dir = s_learn(FUSE_ROOT_ID, "dir", 20);
	fuse_ino_t f = s_learn(dir, "f", 21);
	mount_node_forget(&s_ctx, dir, 1); /* the kernel forgets the directory first */
	s_path_is(f, NULL, "/dir/f");      /* its name still leads through it */
	mount_node_forget(&s_ctx, f, 1);   /* then the file: both go (ASan: no leak) */
	assert_int_equal(s_path_rc(f), -ESTALE);
	assert_int_equal(s_path_rc(dir), -ESTALE);
	mount_node_forget(&s_ctx, FUSE_ROOT_ID, 1); /* the root stays */
	s_path_is(FUSE_ROOT_ID, NULL, "/");
}

/* What a change VFS reports names (watch.c): the node of a (device, inode), the root's once
 * seen, and the names the table knows in one directory. */
static void test_changes_find_nodes(void **state)
{
	(void)state;
	fuse_ino_t dir = s_learn(FUSE_ROOT_ID, "dir", 10);
	fuse_ino_t a = s_learn(dir, "a", 11), b = s_learn(dir, "b", 12);
	s_learn(FUSE_ROOT_ID, "other", 13);
	assert_int_equal(mount_node_of(&s_ctx, 1, 10), dir);
	assert_int_equal(mount_node_of(&s_ctx, 1, 12), b);
	assert_int_equal(mount_node_of(&s_ctx, 2, 12), 0); /* another device's inode 12 */
	assert_int_equal(mount_node_of(&s_ctx, 1, 99), 0);
	assert_int_equal(mount_node_of(&s_ctx, 1, 1), 0); /* "/" before it was seen */
	struct stat root = {.st_dev = 1, .st_ino = 1};
	assert_true(mount_node_same(&s_ctx, FUSE_ROOT_ID, &root));
	assert_int_equal(mount_node_of(&s_ctx, 1, 1), FUSE_ROOT_ID);
	mount_known *known = NULL;
	long n = mount_node_children(&s_ctx, dir, &known);
	assert_int_equal(n, 2);
	bool saw_a = false, saw_b = false;
	for (long i = 0; i < n; i++) {
		assert_int_equal(known[i].parent, dir);
		saw_a = saw_a || (known[i].node == a && strcmp(known[i].name, "a") == 0);
		saw_b = saw_b || (known[i].node == b && strcmp(known[i].name, "b") == 0);
	}
	assert_true(saw_a && saw_b);
	mount_known_free(known, n);
	assert_int_equal(mount_node_children(&s_ctx, a, &known), 0); /* a file: none */
	mount_known_free(known, 0);
	mount_node_unlearn(&s_ctx, dir, "a"); /* another client removed it */
	assert_int_equal(mount_node_children(&s_ctx, dir, &known), 1);
	assert_string_equal(known[0].name, "b");
	mount_known_free(known, 1);
}

static void test_long_paths(void **state)
{
	(void)state;
	char name[61];
	memset(name, 'd', 60);
	name[60] = '\0';
	fuse_ino_t id = FUSE_ROOT_ID;
	for (int i = 0; i < 200; i++)
		id = s_learn(id, name, 100 + i);
	char *path = NULL;
	assert_int_equal(mount_node_path(&s_ctx, id, "leaf", &path), 0);
	assert_int_equal(strlen(path), 200 * 61 + 5); /* "/ddd..." 200 times, "/leaf" */
	assert_int_equal(strncmp(path + 200 * 61, "/leaf", 6), 0);
	free(path);
}

static void test_stale_loop(void **state)
{
	(void)state;
	/* names taught out of order (another client moved things meanwhile) can make a loop:
	 * a is in b and b in a; a path through them ends in ELOOP */
	fuse_ino_t a = s_learn(FUSE_ROOT_ID, "a", 30);
	fuse_ino_t b = s_learn(a, "b", 31);
	mount_node_moved(&s_ctx, FUSE_ROOT_ID, "a", b, "a");
	assert_int_equal(s_path_rc(a), -ELOOP);
	assert_int_equal(s_path_rc(b), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_paths, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_rename_and_unlink, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_known_names, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_hard_links_and_reuse, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_forget_keeps_parents, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_changes_find_nodes, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_long_paths, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_stale_loop, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
