# Runs `${PGWARDEN} check -c ${CONFIG}` and checks the exit code and output.
# -DEXPECT_RC=N (required), -DEXPECT_STDOUT=regex, -DEXPECT_STDERR=regex (optional).
execute_process(COMMAND ${PGWARDEN} check -c ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "exit: ${rc}\nstdout:\n${out}\nstderr:\n${err}")
if(NOT rc STREQUAL EXPECT_RC)
    message(FATAL_ERROR "expected exit code ${EXPECT_RC}, got ${rc}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
    message(FATAL_ERROR "stdout does not match: ${EXPECT_STDOUT}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
    message(FATAL_ERROR "stderr does not match: ${EXPECT_STDERR}")
endif()
if(EXPECT_RC STREQUAL "0" AND NOT err STREQUAL "")
    message(FATAL_ERROR "a passing check must print nothing on stderr")
endif()
