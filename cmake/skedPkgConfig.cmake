# sked.pc for programs built without CMake: `c++ -std=c++20 app.cpp $(pkg-config --cflags --libs sked)`.
# Installed to <libdir>/pkgconfig by sked_install_pkg_config().
function(sked_install_pkg_config)
  # The public headers use date's tz.h, whose layout depends on the macros date was built with
  # (USE_OS_TZDB on Debian): take them from date's imported targets so a pkg-config user compiles the
  # headers exactly as CMake users do.
  set(cflags)
  foreach(target date::date date::date-tz)
    get_target_property(definitions ${target} INTERFACE_COMPILE_DEFINITIONS)
    foreach(definition IN LISTS definitions)
      if(definition)
        list(APPEND cflags -D${definition})
      endif()
    endforeach()
  endforeach()

  # date and SQLiteCpp ship no .pc file, so they are named in Libs; fmt, sqlite3 and nlohmann_json are
  # Required. A static libsked needs its private dependencies on every link line; a shared one only
  # when the user links statically (--static).
  set(public_libs -ldate-tz -pthread)
  set(private_libs -lSQLiteCpp)
  set(public_requires nlohmann_json)
  set(private_requires fmt sqlite3)
  get_target_property(type sked TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    set(public_libs -lSQLiteCpp ${public_libs})
    set(private_libs)
    list(APPEND public_requires ${private_requires})
    set(private_requires)
  endif()

  set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(SKED_PC_PREFIX_FROM_PCDIR "")
    set(SKED_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
    set(SKED_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
  else()
    file(RELATIVE_PATH SKED_PC_PREFIX_FROM_PCDIR /prefix/${pc_dir} /prefix)
    string(REGEX REPLACE "/$" "" SKED_PC_PREFIX_FROM_PCDIR "${SKED_PC_PREFIX_FROM_PCDIR}")
    set(SKED_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
    set(SKED_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()
  list(JOIN public_requires " " SKED_PC_REQUIRES)
  list(JOIN private_requires " " SKED_PC_REQUIRES_PRIVATE)
  list(JOIN public_libs " " SKED_PC_LIBS)
  list(JOIN private_libs " " SKED_PC_LIBS_PRIVATE)
  list(JOIN cflags " " SKED_PC_CFLAGS)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/sked.pc.in ${PROJECT_BINARY_DIR}/sked.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/sked.pc DESTINATION ${pc_dir} COMPONENT dev)
endfunction()
