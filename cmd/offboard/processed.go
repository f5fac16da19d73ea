package main

// killAfterCopyEnv, set to 1 by a test only, kills the process (SIGKILL)
// when a drop-folder file has been copied to --processed and before its
// source is removed: what a crash there leaves, the next run must finish.
const killAfterCopyEnv = "OFFBOARD_TEST_KILL_AFTER_COPY"
