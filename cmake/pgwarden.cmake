# pgwarden_module(NAME SOURCES ... DEPS ...): one static library per src/ folder.
# Includes are rooted at src/ so every header is included as "module/file.hpp".
function(pgwarden_module name)
    cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
    add_library(pgwarden_${name} STATIC ${M_SOURCES})
    target_include_directories(pgwarden_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(pgwarden_${name} PUBLIC ${M_DEPS})
endfunction()

# pgwarden_unit_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(pgwarden_unit_test name)
    cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
    set(labels unit ${T_LABELS})
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${name}." PROPERTIES LABELS "${labels}")
endfunction()
