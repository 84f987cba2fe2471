# Warnings for sked's own targets; never added to global flags, so consumers are not affected.
function(sked_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # -Wconversion and -Wsign-conversion: a count or an id that silently changes sign or loses bits
    # is how a job id, a limit or a duration goes wrong without a crash.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                             -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                             -Wconversion -Wsign-conversion)
    # GCC 12 at -O2 and above warns -Wrestrict inside libstdc++'s std::string (assigning or appending a
    # short literal, GCC bug 105329): a false positive in the library's code, not ours. Off for GCC 12
    # only, so newer compilers still check our own overlapping copies.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
       AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-restrict)
      # The same bug family reports -Wstringop-overflow and -Warray-bounds on a string assigned a
      # literal, inlined at -O3 (seen in the tests' job builders once Job's members changed): off for
      # GCC 12 as well.
      target_compile_options(${target} PRIVATE -Wno-stringop-overflow -Wno-array-bounds)
    endif()
    if(SKED_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
