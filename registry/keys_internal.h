/*
 * keys_internal.h — what link_keys.c, link_handover.c and vouch.c share: the trust root on
 * disk, and what a process was handed with its keys.
 *
 * Entry points: reg_read_hex, reg_trust_root, reg_write_file (link_keys.c); reg_handover_take,
 * reg_handover_pending, reg_handover_etcd (link_handover.c).
 */
#ifndef PLEXUS_KEYS_INTERNAL_H
#define PLEXUS_KEYS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/link_keys.h>
#include <plexus/transport.h>

/* Reads n bytes written as hex (one line) from path. Returns 0, -errno or -EBADMSG. */
int reg_read_hex(const char *path, uint8_t *bytes, size_t n);
/* Writes text to dir/name with mode, replacing what was there (through name.new and a
 * rename; no symbolic link followed). Returns 0 or -errno. */
int reg_write_file(const char *dir, const char *name, const char *text, mode_t mode);
/* Makes ctx trust the cluster's root, dir/root.pub. Returns 0 or a negative errno with err
 * saying which file and why. */
int reg_trust_root(plx_ctx *ctx, const char *dir, char *err, size_t size);

/* What a process is handed (link_handover.c): its keys, its certificate and, from RS, its etcd
 * user ("" when none). */
typedef struct reg_handed {
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	char etcd_user[PLX_HANDOVER_USER_MAX];
	char etcd_password[PLX_ETCD_PASSWORD_MAX];
} reg_handed;

#define S_HANDOVER_TEXT (2 * PLX_KEY_TEXT + PLX_CERT_MAX + PLX_HANDOVER_USER_MAX + 128)

/* The handover of link: "stdin" or NULL (standard input, read once: its keys are given out
 * once, -EALREADY after) or a file's path. Returns 0, -EBADMSG, -EPROTO (standard input is not
 * a pipe), -ETIMEDOUT, -EPERM (the file is another user's or readable by others) or -errno. */
int reg_handover_take(const char *link, reg_handed *h);
/* Whether this process's keys come on standard input (PLEXUS_LINK=stdin, or read already
 * and not yet given to the endpoint). */
bool reg_handover_pending(void);
/* The etcd user and password handed over with this process's keys (PLEXUS_LINK: standard
 * input, read now if it was not, or a file). Returns 1 with them copied, 0 when none came,
 * or the handover's error. */
int reg_handover_etcd(char *user, size_t usize, char *password, size_t psize);

#endif
