# Build speed for sked's own targets. Each translation unit spent most of its time re-reading the same
# third-party headers (nlohmann/json, date/tz, CLI11, cpp-httplib, Catch2) and, at -O0, emitting the same
# inline functions again. Targets of many small files build as unity batches; the unit tests, whose files
# define the same helper names, precompile their headers instead. Neither is used for the doc blocks or
# the header check, whose point is that each file compiles with its own includes.

# Up to SKED_UNITY_BATCH files per translation unit: on two cores, a target of 15 files becomes two jobs
# that run side by side.
# sked_unity_build(target [UNIQUE_ID name]): with UNIQUE_ID, `name` is a macro that expands to an
# identifier of its own in every file, for files that wrap their helpers in `namespace name {`.
function(sked_unity_build target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "UNIQUE_ID" "")
  if(SKED_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    if(arg_UNIQUE_ID)
      set_target_properties(${target} PROPERTIES UNITY_BUILD_UNIQUE_ID ${arg_UNIQUE_ID})
    endif()
  elseif(arg_UNIQUE_ID)
    target_compile_definitions(${target} PRIVATE ${arg_UNIQUE_ID}=${arg_UNIQUE_ID}_)
  endif()
endfunction()

# A unity target parses each header once per batch already; a precompiled header would only add a
# serial step before its batches.
function(sked_precompile_headers target)
  get_target_property(unity ${target} UNITY_BUILD)
  if(SKED_PRECOMPILE_HEADERS AND NOT unity)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
