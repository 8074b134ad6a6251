# Helpers shared by every component's CMakeLists.txt.

# plexus_unit_test(NAME SOURCES... LIBS libs... [LABELS labels...] [TIMEOUT s])
# A cmocka test binary registered with CTest, labelled "unit" so the sanitizer run picks it up.
function(plexus_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT PLEXUS_TESTS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}")
endfunction()

# plexus_pkgconfig(TARGET DESCRIPTION REQUIRES)
# Writes and installs <target>.pc for an installed library.
function(plexus_pkgconfig target description requires)
  # Relocatable: the prefix is found from where the .pc file is installed. The libraries are
  # static archives, so what they need is listed in Requires, not Requires.private.
  file(RELATIVE_PATH pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
  set(PC_PREFIX "\${pcfiledir}/${pc_up}")
  set(PC_NAME ${target})
  set(PC_DESCRIPTION ${description})
  set(PC_REQUIRES ${requires})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/library.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${target}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${target}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
