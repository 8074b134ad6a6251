/*
 * plexus/deploy_cli.h — the deploy commands of the plexus CLI.
 *
 * Entry points: plx_image_cli, plx_pxe_cli, plx_qemu_cli, plx_bench_boot, plx_up_qemu.
 *
 * Each takes the arguments from its own name on (argv[0] is the command) and returns a
 * sysexits.h code.
 */
#ifndef PLEXUS_DEPLOY_CLI_H
#define PLEXUS_DEPLOY_CLI_H

/* plexus image build|info ... (docs/deploy.md) */
int plx_image_cli(int argc, char **argv);
/* plexus pxe check|serve ... */
int plx_pxe_cli(int argc, char **argv);
/* plexus qemu boot|cluster ... */
int plx_qemu_cli(int argc, char **argv);
/* plexus bench boot [--json] */
int plx_bench_boot(int argc, char **argv);
/* plexus up --qemu [--nodes N] ... (argv as `plexus up` got it; --qemu is skipped) */
int plx_up_qemu(int argc, char **argv);

#endif
