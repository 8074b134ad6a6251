/*
 * family.c — each message family's .def expanded into a table of its requests
 * (plexus/family.h).
 *
 * Entry points: plx_family_ipc, plx_family_cdev, plx_family_bdev, plx_family_fs,
 * plx_family_vfs, plx_family_rs, plx_family_node (the registry that holds them is trace.c's).
 *
 * A family is the .def's lines, each turned into a plx_request_line by S_LINE, and the enum of
 * its types. A .def can only be included from a line of its own, so a family takes one short
 * block below (its lines, then its S_FAMILY) and its extern in plexus/family.h; a server then
 * registers it with one plx_register_family line.
 */
#include <plexus/family.h>

#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/fs.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"
#include "plexus/proto/node.pb-c.h"
#include "plexus/proto/rs.pb-c.h"
#include "plexus/proto/vfs.pb-c.h"

/* A .def body's descriptor: NULL for NONE. */
#define plexus__none__descriptor (*(const ProtobufCMessageDescriptor *)NULL)
#define S_DESC(d)                (&plexus__##d##__descriptor)

/* One .def line; FAM is its types' prefix (PLEXUS__IPC_TYPE__: IPC). */
#define S_LINE(FAM, NAME, req, rep) {PLEXUS__##FAM##_TYPE__##NAME, #NAME, S_DESC(req), S_DESC(rep)},

#define S_TABLE(fam) s_##fam##_lines
#define S_FAMILY(fam)                                                                              \
	const plx_family plx_family_##fam = {&plexus__##fam##_type__descriptor, S_TABLE(fam),      \
	                                     sizeof S_TABLE(fam) / sizeof *S_TABLE(fam)}

static const plx_request_line s_ipc_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(IPC, NAME, req, rep)
#include "plexus/proto/ipc.def"
#undef PLX_REQUEST
};
static const plx_request_line s_cdev_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(CDEV, NAME, req, rep)
#include "plexus/proto/cdev.def"
#undef PLX_REQUEST
};
static const plx_request_line s_bdev_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(BDEV, NAME, req, rep)
#include "plexus/proto/bdev.def"
#undef PLX_REQUEST
};
static const plx_request_line s_fs_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(FS, NAME, req, rep)
#include "plexus/proto/fs.def"
#undef PLX_REQUEST
};
static const plx_request_line s_vfs_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(VFS, NAME, req, rep)
#include "plexus/proto/vfs.def"
#undef PLX_REQUEST
};

static const plx_request_line s_rs_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(RS, NAME, req, rep)
#include "plexus/proto/rs.def"
#undef PLX_REQUEST
};
static const plx_request_line s_node_lines[] = {
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep) S_LINE(NODE, NAME, req, rep)
#include "plexus/proto/node.def"
#undef PLX_REQUEST
};

S_FAMILY(ipc);
S_FAMILY(cdev);
S_FAMILY(bdev);
S_FAMILY(fs);
S_FAMILY(vfs);
S_FAMILY(rs);
S_FAMILY(node);
