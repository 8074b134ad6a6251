/*
 * fuzz-cluster.c — libFuzzer harness for the cluster file parser (plx_cluster_parse and the
 * lookups of plexus/cluster.h).
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * The input up to its first NUL is a cluster.ini, parsed with [pxe] as an extra section (as
 * `plexus pxe` does). Besides running without a crash, a leak or undefined behaviour, what the
 * header promises is checked: a failure sets errno to EINVAL or ENOMEM and err to a line
 * naming the file; a description has unique node names, MACs and addresses whose text matches
 * their bytes, services whose node, standby nodes and dependencies exist and which come after
 * what they depend on, argv[0] the program and NULL-terminated vectors. Every lookup finds what
 * it should, and each node's power templates are expanded. A broken promise aborts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/cluster.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A node's text fields are terminated and say what its bytes say. */
static void s_check_node(const plx_cluster *c, const plx_cluster_node *n)
{
	FUZZ_CHECK(fuzz_terminated(n->name, sizeof n->name) && n->name[0]);
	FUZZ_CHECK(fuzz_terminated(n->role, sizeof n->role));
	FUZZ_CHECK(fuzz_terminated(n->power_dir, sizeof n->power_dir));
	FUZZ_CHECK(fuzz_terminated(n->power_cycle, sizeof n->power_cycle));
	FUZZ_CHECK(fuzz_terminated(n->power_qmp, sizeof n->power_qmp));
	char mac[18], addr[16];
	snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
	         n->mac[3], n->mac[4], n->mac[5]);
	FUZZ_CHECK(strcmp(mac, n->mac_text) == 0);
	FUZZ_CHECK(inet_ntop(AF_INET, &n->addr_be, addr, sizeof addr) &&
	           strcmp(addr, n->addr) == 0);
	FUZZ_CHECK((ntohl(n->addr_be) & 0xff) != 255);
	FUZZ_CHECK(strcmp(plx_power_name(n->power), "?") != 0);
	size_t at = (size_t)(n - c->nodes);
	if (at < 64 || at + 1 == c->nnodes) { /* the lookups are linear: not for each of 4096 */
		FUZZ_CHECK(plx_cluster_find_node(c, n->name) == n);
		FUZZ_CHECK(plx_cluster_find_mac(c, n->mac) == n);
	}
	const char *templ[] = {n->power_dir, n->power_cycle, n->power_qmp, "%n %m %a %% %"};
	for (size_t i = 0; i < sizeof templ / sizeof *templ; i++) {
		char out[2 * PLX_CLUSTER_TEXT_MAX], small[8];
		int len = plx_cluster_expand(n, templ[i], out, sizeof out);
		FUZZ_CHECK(len == -EINVAL || len == -ENAMETOOLONG ||
		           (len >= 0 && (size_t)len == strlen(out)));
		len = plx_cluster_expand(n, templ[i], small, sizeof small);
		FUZZ_CHECK(len == -EINVAL || len == -ENAMETOOLONG ||
		           (len >= 0 && len < (int)sizeof small));
	}
}

static int s_by_name(const void *a, const void *b)
{
	return strcmp((*(const plx_cluster_node *const *)a)->name,
	              (*(const plx_cluster_node *const *)b)->name);
}

static int s_by_mac(const void *a, const void *b)
{
	return memcmp((*(const plx_cluster_node *const *)a)->mac,
	              (*(const plx_cluster_node *const *)b)->mac, 6);
}

static int s_by_addr(const void *a, const void *b)
{
	uint32_t x = (*(const plx_cluster_node *const *)a)->addr_be;
	uint32_t y = (*(const plx_cluster_node *const *)b)->addr_be;
	return x < y ? -1 : x > y;
}

/* No two nodes share a name, a MAC or an address (sorted: up to 4096 nodes). */
static void s_check_unique(const plx_cluster *c)
{
	const plx_cluster_node **v = malloc((c->nnodes + 1) * sizeof *v);
	FUZZ_CHECK(v != NULL);
	int (*const order[])(const void *, const void *) = {s_by_name, s_by_mac, s_by_addr};
	for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
		for (size_t i = 0; i < c->nnodes; i++)
			v[i] = &c->nodes[i];
		qsort(v, c->nnodes, sizeof *v, order[k]);
		for (size_t i = 1; i < c->nnodes; i++)
			FUZZ_CHECK(order[k](&v[i - 1], &v[i]) != 0);
	}
	free(v);
}

/* The index of the service labelled label, or -1. */
static long s_service_index(const plx_cluster *c, const char *label)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i].label, label) == 0)
			return (long)i;
	return -1;
}

static void s_check_service(const plx_cluster *c, size_t i)
{
	const plx_cluster_service *s = &c->services[i];
	FUZZ_CHECK(fuzz_terminated(s->label, sizeof s->label) && s->label[0]);
	FUZZ_CHECK(fuzz_terminated(s->program, sizeof s->program) && s->program[0]);
	FUZZ_CHECK(fuzz_terminated(s->callers, sizeof s->callers));
	FUZZ_CHECK(plx_cluster_find_service(c, s->label) == s);
	FUZZ_CHECK(plx_cluster_find_node(c, s->node) != NULL);
	FUZZ_CHECK(s->argc >= 1 && s->argv && strcmp(s->argv[0], s->program) == 0);
	FUZZ_CHECK(s->argv[s->argc] == NULL);
	FUZZ_CHECK(s->nenv == 0 || (s->env && s->env[s->nenv] == NULL && strchr(s->env[0], '=')));
	for (size_t k = 0; k < s->nstandby; k++) {
		FUZZ_CHECK(plx_cluster_find_node(c, s->standby[k]) != NULL);
		FUZZ_CHECK(strcmp(s->standby[k], s->node) != 0);
	}
	for (size_t k = 0; k < s->ndepends; k++) {
		long at = s_service_index(c, s->depends[k]);
		FUZZ_CHECK(at >= 0 && (size_t)at < i); /* in dependency order */
	}
	FUZZ_CHECK(strcmp(plx_restart_name(s->restart), "?") != 0);
	FUZZ_CHECK(s->heartbeat_ms >= 0 && s->backoff_ms >= 0 && s->max_restarts >= 0);
	FUZZ_CHECK(!s->backoff_cap_ms || s->backoff_cap_ms >= s->backoff_ms);
}

static void s_check(const plx_cluster *c)
{
	FUZZ_CHECK(fuzz_terminated(c->name, sizeof c->name) && c->name[0]);
	FUZZ_CHECK(fuzz_terminated(c->etcd, sizeof c->etcd));
	FUZZ_CHECK(c->nnodes <= PLX_CLUSTER_MAX_NODES);
	for (size_t i = 0; i < c->nnodes; i++)
		s_check_node(c, &c->nodes[i]);
	s_check_unique(c);
	for (size_t i = 0; i < c->nservices; i++)
		s_check_service(c, i);
	for (size_t i = 0; i < c->nextra; i++) {
		const plx_cluster_kv *kv = &c->extra[i];
		FUZZ_CHECK(strcmp(kv->section, "pxe") == 0);
		FUZZ_CHECK(plx_cluster_extra(c, kv->section, kv->key) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	static const char *const extra[] = {"pxe", NULL};
	plx_cluster_opts opts = {.extra_sections = extra};
	char err[512] = "";
	errno = 0;
	plx_cluster *c = plx_cluster_parse(text, "fuzz.ini", &opts, err, sizeof err);
	if (!c) {
		FUZZ_CHECK(errno == EINVAL || errno == ENOMEM);
		FUZZ_CHECK(strncmp(err, "fuzz.ini", 8) == 0 && fuzz_terminated(err, sizeof err));
	} else {
		s_check(c);
		plx_cluster_destroy(&c);
		FUZZ_CHECK(c == NULL);
	}
	free(text);
	return 0;
}
