# Precompiled headers for sked's own multi-file targets. Each translation unit of the library, the tool,
# the dashboard and the tests spent most of its time re-reading the same third-party headers
# (nlohmann/json, date/tz, CLI11, cpp-httplib, Catch2). Never used for the doc blocks or the
# header check, whose point is that each file compiles with its own includes.
function(sked_precompile_headers target)
  if(SKED_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
