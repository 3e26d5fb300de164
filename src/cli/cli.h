/*
 * The command line's own pieces: the Open MPI settings chosen before
 * MPI_Init (launch.c).  cli.c is mr_main itself (include/mpimr.h).
 */
#ifndef MR_CLI_H
#define MR_CLI_H

/* Chooses Open MPI settings from the launcher's environment; call before
 * MPI_Init (launch.c). */
void mr_tune_open_mpi(void);

#endif /* MR_CLI_H */
