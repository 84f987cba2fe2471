# Builds and runs tests/consumer/main.cpp (and, with SKED_CONSUMER_HTTP, http_main.cpp, which links
# sked::http) the way a user's project would get sked, one way per SKED_CONSUMER_MODE:
#   find_package  install the built sked to a scratch prefix; a CMake project does find_package(sked)
#   pkg-config    the same install; one compiler command with `pkg-config --cflags --libs sked`
#                 (sked.pc covers sked::sked only)
#   subdirectory  a CMake project that does add_subdirectory(<sked source>) (subdirectory/)
#   shared        sked configured and built anew with BUILD_SHARED_LIBS=ON and installed; the consumer
#                 links libsked.so through find_package
# SKED_SANITIZE (the build's sanitizers) is added to the consumer's link: an installed sked does not
# impose its sanitizer runtime on the programs that link it.
file(REMOVE_RECURSE ${SKED_SCRATCH})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
set(config ${SKED_CONFIG})
if(NOT config)
  set(config RelWithDebInfo)
endif()
set(prefix ${SKED_SCRATCH}/prefix)
set(consumer_flags -DCMAKE_BUILD_TYPE=${config})
if(SKED_CXX_COMPILER_LAUNCHER)
  list(APPEND consumer_flags -DCMAKE_CXX_COMPILER_LAUNCHER=${SKED_CXX_COMPILER_LAUNCHER})
endif()
set(link_flags "")
if(SKED_SANITIZE)
  set(link_flags -fsanitize=${SKED_SANITIZE})
  list(APPEND consumer_flags -DCMAKE_EXE_LINKER_FLAGS=${link_flags})
endif()
if(NOT SKED_CONSUMER_MODE)
  set(SKED_CONSUMER_MODE find_package)
endif()
if(SKED_CONSUMER_HTTP)
  set(http ON)
else()
  set(http OFF)
endif()
list(APPEND consumer_flags -DSKED_CONSUMER_HTTP=${http})
# Runs what the consumer project built.
function(run_consumers build_dir)
  run(${build_dir}/consumer)
  if(http)
    run(${build_dir}/consumer_http)
  endif()
endfunction()

if(SKED_CONSUMER_MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${SKED_BINARY_DIR} --prefix ${prefix} --config ${config} --component dev)
  run(${CMAKE_COMMAND} -S ${SKED_CONSUMER_SOURCE} -B ${SKED_SCRATCH}/build
      -DCMAKE_PREFIX_PATH=${prefix} ${consumer_flags})
  run(${CMAKE_COMMAND} --build ${SKED_SCRATCH}/build)
  run_consumers(${SKED_SCRATCH}/build)

elseif(SKED_CONSUMER_MODE STREQUAL "pkg-config")
  run(${CMAKE_COMMAND} --install ${SKED_BINARY_DIR} --prefix ${prefix} --config ${config} --component dev)
  file(GLOB_RECURSE pc_file ${prefix}/sked.pc)
  if(NOT pc_file)
    message(FATAL_ERROR "no sked.pc installed under ${prefix}")
  endif()
  get_filename_component(pc_dir ${pc_file} DIRECTORY)
  find_program(PKG_CONFIG pkg-config REQUIRED)
  # As a user types it: c++ -std=c++20 main.cpp $(pkg-config --cflags --libs sked) -o consumer
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
                          ${PKG_CONFIG} --cflags --libs sked
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs sked failed (${rc})")
  endif()
  message(STATUS "pkg-config --cflags --libs sked: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${SKED_CXX_COMPILER} -std=c++20 ${SKED_CONSUMER_SOURCE}/main.cpp ${flags} ${link_flags}
      -o ${SKED_SCRATCH}/consumer)
  run(${SKED_SCRATCH}/consumer)

elseif(SKED_CONSUMER_MODE STREQUAL "subdirectory")
  # No build type on purpose: sked must not pick one for its parent (the project checks).
  list(FILTER consumer_flags EXCLUDE REGEX "^-DCMAKE_BUILD_TYPE=")
  run(${CMAKE_COMMAND} -S ${SKED_CONSUMER_SOURCE}/subdirectory -B ${SKED_SCRATCH}/build
      -DSKED_SOURCE_DIR=${SKED_SOURCE_DIR} ${consumer_flags})
  run(${CMAKE_COMMAND} --build ${SKED_SCRATCH}/build --parallel 2)
  run_consumers(${SKED_SCRATCH}/build)

elseif(SKED_CONSUMER_MODE STREQUAL "shared")
  # Build type None: no optimisation or debug flags, the quickest build of the library.
  list(FILTER consumer_flags EXCLUDE REGEX "^-DCMAKE_BUILD_TYPE=")
  run(${CMAKE_COMMAND} -S ${SKED_SOURCE_DIR} -B ${SKED_SCRATCH}/sked -DCMAKE_BUILD_TYPE=None
      -DBUILD_SHARED_LIBS=ON -DSKED_BUILD_TESTS=OFF -DSKED_BUILD_EXAMPLES=OFF -DSKED_BUILD_TOOLS=OFF
      -DSKED_SANITIZE=${SKED_SANITIZE} ${consumer_flags})
  run(${CMAKE_COMMAND} --build ${SKED_SCRATCH}/sked --parallel 2)
  run(${CMAKE_COMMAND} --install ${SKED_SCRATCH}/sked --prefix ${prefix} --component dev)
  run(${CMAKE_COMMAND} -S ${SKED_CONSUMER_SOURCE} -B ${SKED_SCRATCH}/build -DCMAKE_BUILD_TYPE=None
      -DCMAKE_PREFIX_PATH=${prefix} ${consumer_flags})
  run(${CMAKE_COMMAND} --build ${SKED_SCRATCH}/build)
  execute_process(COMMAND readelf -d ${SKED_SCRATCH}/build/consumer OUTPUT_VARIABLE dynamic)
  if(NOT dynamic MATCHES "NEEDED[^\n]*libsked\\.so\\.")
    message(FATAL_ERROR "the consumer does not link libsked.so:\n${dynamic}")
  endif()
  if(http)
    execute_process(COMMAND readelf -d ${SKED_SCRATCH}/build/consumer_http OUTPUT_VARIABLE dynamic)
    if(NOT dynamic MATCHES "NEEDED[^\n]*libsked_http\\.so\\.")
      message(FATAL_ERROR "consumer_http does not link libsked_http.so:\n${dynamic}")
    endif()
  endif()
  # Hidden by default: the library exports its API (SKED_API), not the third-party code it compiles in
  # nor its own helpers (sked::detail, bar the few the tool and sked::http call).
  file(GLOB libsked ${SKED_SCRATCH}/sked/libsked.so.*.*)
  execute_process(COMMAND nm -D -C --defined-only ${libsked} OUTPUT_VARIABLE exported RESULT_VARIABLE status)
  if(NOT status EQUAL 0 OR NOT exported MATCHES "sked::Scheduler::add_job")
    message(FATAL_ERROR "nm -D could not list what ${libsked} exports:\n${exported}")
  endif()
  # A symbol's own name (not its parameters) in a private namespace.
  string(REGEX MATCH "\n[0-9a-f]+ [A-Za-z] (fmt::|SQLite::|nlohmann::|sked::detail::parse_crontab|sked::detail::BlockPool)[^\n]*"
         private "\n${exported}")
  if(private)
    message(FATAL_ERROR "${libsked} exports private symbols, such as:${private}")
  endif()
  run_consumers(${SKED_SCRATCH}/build)

else()
  message(FATAL_ERROR "unknown SKED_CONSUMER_MODE '${SKED_CONSUMER_MODE}'")
endif()
