# blaze_layer(NAME SOURCES... DEPENDS layers...)
#
# Declares one layer of DESIGN.md §2: an object library blaze_NAME_objs (its
# compiled files, gathered into the installed libblazedb) and a static library
# blaze_NAME that tests and tools link, carrying its dependencies. A layer's internal
# headers are included as "<layer>/file.h", and the only include directories a
# layer sees are its own and those of the layers it DEPENDS on: each layer gets
# a private folder holding a single symlink named after it. An upward include
# ("store/..." from value) therefore fails to compile.
function(blaze_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPENDS;LIBS" ${ARGN})
  set(shim "${PROJECT_BINARY_DIR}/layers/${name}")
  file(MAKE_DIRECTORY "${shim}")
  file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${name}" "${shim}/${name}" SYMBOLIC)
  add_library(blaze_${name}_objs OBJECT ${L_SOURCES})
  target_include_directories(blaze_${name}_objs PUBLIC "${shim}" "${PROJECT_SOURCE_DIR}/include")
  add_library(blaze_${name} STATIC $<TARGET_OBJECTS:blaze_${name}_objs>)
  target_include_directories(blaze_${name} PUBLIC "${shim}" "${PROJECT_SOURCE_DIR}/include")
  foreach(dep IN LISTS L_DEPENDS)
    # Compiling sees only the layers below; linking pulls them in.
    target_include_directories(blaze_${name}_objs PUBLIC $<TARGET_PROPERTY:blaze_${dep},INTERFACE_INCLUDE_DIRECTORIES>)
    target_link_libraries(blaze_${name} PUBLIC blaze_${dep})
  endforeach()
  target_link_libraries(blaze_${name}_objs PUBLIC ${L_LIBS})
  target_link_libraries(blaze_${name} PUBLIC ${L_LIBS})
endfunction()
