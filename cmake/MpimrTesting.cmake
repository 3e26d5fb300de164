# One helper to add a test at several process counts.
#
#   mpimr_add_mpi_test(NAME name NP 1 2 3 4
#                      [TARGET exe ARGS args...]     # run exe under mpiexec
#                      [COMMAND cmd args...]         # a driver script; @LAUNCH@
#                                                    # becomes the launch prefix
#                      [LABELS labels...] [TIMEOUT seconds]
#                      [FIXTURES fixtures...])
#
# Adds NAME_np<N> for each N.  The launch prefix is MPIEXEC_EXECUTABLE,
# MPIEXEC_NUMPROC_FLAG N, MPIEXEC_PREFLAGS and MPIMR_MPIEXEC_PREFLAGS
# (--oversubscribe for Open MPI, so 4 ranks run on 2 cores).

execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version
  OUTPUT_VARIABLE _mpimr_mpiexec_version ERROR_QUIET)
if(_mpimr_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(_mpimr_default_preflags "--oversubscribe")
else()
  set(_mpimr_default_preflags "")
endif()
set(MPIMR_MPIEXEC_PREFLAGS "${_mpimr_default_preflags}" CACHE STRING
  "Extra mpiexec flags for the tests")

# Open MPI refuses root unless told; CI machines run as root.
set(MPIMR_TEST_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1)

function(mpimr_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TARGET;TIMEOUT"
    "NP;ARGS;COMMAND;LABELS;FIXTURES" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  foreach(np IN LISTS T_NP)
    set(launch ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np}
      ${MPIEXEC_PREFLAGS} ${MPIMR_MPIEXEC_PREFLAGS})
    if(T_TARGET)
      set(cmd ${launch} $<TARGET_FILE:${T_TARGET}> ${T_ARGS})
    else()
      list(JOIN launch " " launch_str)
      set(cmd)
      foreach(arg IN LISTS T_COMMAND)
        string(REPLACE "@LAUNCH@" "${launch_str}" arg "${arg}")
        string(REPLACE "@NP@" "${np}" arg "${arg}")
        list(APPEND cmd "${arg}")
      endforeach()
    endif()
    add_test(NAME ${T_NAME}_np${np} COMMAND ${cmd})
    set_tests_properties(${T_NAME}_np${np} PROPERTIES
      LABELS "mpi;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
      PROCESSORS ${np} ENVIRONMENT "${MPIMR_TEST_ENV}")
    if(T_FIXTURES)
      set_tests_properties(${T_NAME}_np${np} PROPERTIES
        FIXTURES_REQUIRED "${T_FIXTURES}")
    endif()
  endforeach()
endfunction()
