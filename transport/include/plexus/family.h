/*
 * plexus/family.h — each message family's requests, as its description (proto/<family>.def)
 * says them, and the registry that holds the families a process serves or calls
 * (docs/stubs.md).
 *
 * Entry points: plx_register_family, plx_family_request; the tables plx_family_ipc,
 * plx_family_cdev, plx_family_bdev, plx_family_fs, plx_family_vfs, plx_family_rs,
 * plx_family_node.
 *
 * A .def line is PLX_REQUEST(TYPE, name, Req, req, Rep, rep); its expansion here is one
 * plx_request_line: the type's value, its name, the request body's descriptor and the reply
 * body's (NULL for NONE). The stubs (plexus/stub.h) are expanded from the same lines, so what a
 * client sends, what a server table unpacks and what this table says cannot disagree without
 * plx_server_new refusing the server (plexus/server.h).
 *
 * The registry extends the one plx_register_types keeps for trace names (transport.h) rather
 * than standing beside it: a family is one enum and, when it has a .def, one table, and a
 * process that names a family's types in its traces is the process that serves or calls them.
 * plx_register_family registers both at once; plx_register_types stays for the families that
 * have no .def yet (names only, nothing checked). The IPC family is registered from the start.
 */
#ifndef PLEXUS_FAMILY_H
#define PLEXUS_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* One request of a family: one .def line. */
typedef struct plx_request_line {
	uint32_t type;
	const char *name;                        /* "CDEV_OPEN" */
	const ProtobufCMessageDescriptor *body;  /* the request's body; NULL: none */
	const ProtobufCMessageDescriptor *reply; /* the reply's body; NULL: none */
} plx_request_line;

/* A family: its enum of types and its .def expanded. */
typedef struct plx_family {
	const ProtobufCEnumDescriptor *types;
	const plx_request_line *lines;
	size_t n;
} plx_family;

/* The families described by a .def (proto/CMakeLists.txt's PROTO_DEFS), expanded in
 * transport/family.c. A new family is one more block there and one more line here. */
extern const plx_family plx_family_ipc;
extern const plx_family plx_family_cdev;
extern const plx_family plx_family_bdev;
extern const plx_family plx_family_fs;
extern const plx_family plx_family_vfs;
extern const plx_family plx_family_rs;
extern const plx_family plx_family_node;

/* Registers family (which must outlive the process: one of the tables above): its type names
 * for plx_type_name and its requests for plx_family_request, so that plx_server_new checks
 * every table entry of its types. Registering a family twice, or after plx_register_types gave
 * its names, is harmless. Thread-safe. Returns 0, -EINVAL (NULL) or -ENOSPC. */
int plx_register_family(const plx_family *family);
/* Returns the line of a registered family for type, or NULL when no registered family has a
 * table naming it. Thread-safe. */
const plx_request_line *plx_family_request(uint32_t type);

#endif
