# pgwarden_module(NAME SOURCES ... DEPS ...): one static library and one namespace per src/
# folder. Includes are rooted at src/ so every header is included as "module/file.hpp".
#
# Modules point one way. A module may include only its own headers and those of the modules it
# names in DEPS (and of what those reach), and every module it names must be defined before
# it, so a cycle cannot be written. The include lines of the module's files are checked here,
# at configure time: an include against the direction fails the build with the file and line.
function(pgwarden_module name)
    cmake_parse_arguments(M "" "DIR" "SOURCES;DEPS" ${ARGN})
    if(NOT M_DIR)
        set(M_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
    add_library(pgwarden_${name} STATIC ${M_SOURCES})
    target_include_directories(pgwarden_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(pgwarden_${name} PUBLIC ${M_DEPS})
    set(reach ${name})
    foreach(dep ${M_DEPS})
        if(dep MATCHES "^pgwarden_(.+)$")
            set(module ${CMAKE_MATCH_1})
            if(NOT TARGET ${dep})
                message(FATAL_ERROR "module ${name} names ${module} in DEPS, but ${module} is "
                                    "not defined before it (modules point one way)")
            endif()
            get_property(below GLOBAL PROPERTY PGWARDEN_REACH_${module})
            list(APPEND reach ${module} ${below})
        endif()
    endforeach()
    list(REMOVE_DUPLICATES reach)
    set_property(GLOBAL PROPERTY PGWARDEN_REACH_${name} ${reach})
    file(GLOB_RECURSE own_files ${M_DIR}/*.cpp ${M_DIR}/*.hpp)
    foreach(file ${own_files})
        file(STRINGS ${file} includes REGEX "^#include \"[a-z_]+/")
        foreach(line ${includes})
            string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" included "${line}")
            if(NOT included IN_LIST reach)
                string(REPLACE ";" " " allowed "${reach}")
                message(FATAL_ERROR "${file}: ${line}: module ${name} may include only "
                                    "${allowed}")
            endif()
        endforeach()
    endforeach()
endfunction()

# pgwarden_module_reach(NAME OUT): the modules NAME may use, itself included.
function(pgwarden_module_reach name out)
    get_property(reach GLOBAL PROPERTY PGWARDEN_REACH_${name})
    set(${out} ${reach} PARENT_SCOPE)
endfunction()

# pgwarden_unit_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(pgwarden_unit_test name)
    cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
    set(labels unit ${T_LABELS})
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${name}." PROPERTIES LABELS "${labels}")
endfunction()
