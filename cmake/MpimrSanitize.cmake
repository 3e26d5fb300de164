# Checking builds.  Each goes in a build directory of its own; .ci/run makes
# all three after the ordinary build and test:
#
#   cmake -S . -B build-asan -DMPIMR_SANITIZE=ON
#     AddressSanitizer + UBSan (-fno-sanitize-recover: any finding fails) on
#     the library, mpimr and the tests; `ctest --test-dir build-asan -L
#     sanitize` runs the MPI and end-to-end tests at np 2 with leak detection.
#   cmake -S . -B build-valgrind -DMPIMR_VALGRIND=ON
#     an ordinary build (with -g); `ctest ... -L valgrind` runs the
#     end-to-end tests at np 2 under valgrind memcheck.
#   CC=clang cmake -S . -B build-fuzz -DMPIMR_FUZZ=ON
#     the libFuzzer harnesses of tests/fuzz (clang only; build their
#     targets: fuzz_records, fuzz_groupby, fuzz_frames); `ctest ... -L fuzz`
#     replays each one's corpus and fuzzes each briefly.
#
# Included by the top-level CMakeLists.txt before any target is defined, so
# that the sanitizer flags reach every target.

option(MPIMR_SANITIZE "Build with AddressSanitizer and UBSan; add the sanitize tests" OFF)
option(MPIMR_VALGRIND "Add the valgrind memcheck tests" OFF)
option(MPIMR_FUZZ "Build the libFuzzer harnesses (clang); add the fuzz tests" OFF)

set(MPIMR_SANITIZE_FLAGS
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer)

if(MPIMR_SANITIZE AND MPIMR_VALGRIND)
  message(FATAL_ERROR "MPIMR_SANITIZE and MPIMR_VALGRIND need separate build "
    "directories: valgrind cannot run AddressSanitizer binaries")
endif()
if(MPIMR_SANITIZE)
  add_compile_options(${MPIMR_SANITIZE_FLAGS} -g)
  add_link_options(${MPIMR_SANITIZE_FLAGS})
endif()
if(MPIMR_VALGRIND)
  add_compile_options(-g)
endif()
if(MPIMR_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MPIMR_FUZZ needs clang's libFuzzer: configure a "
    "separate build directory with CC=clang (Debian: apt-get install clang)")
endif()
