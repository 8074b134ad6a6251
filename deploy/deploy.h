/*
 * deploy.h — what the deploy commands share inside the folder.
 *
 * Entry points: deploy_image_defaults.
 */
#ifndef PLEXUS_DEPLOY_INTERNAL_H
#define PLEXUS_DEPLOY_INTERNAL_H

#include <errno.h>

#include <plexus/image.h>

/* Fills o with this build's defaults: output directory, plexus-init, udhcpc.sh and the
 * Plexus programs that exist. */
void deploy_image_defaults(plx_image_opts *o);

#endif
