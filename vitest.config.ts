import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Starts (or finds) the MongoDB-wire server the integration tests use; see the file.
    globalSetup: ["test/support/mongo-global-setup.ts"],
    // Integration tests talk to a real server: generous, but a hang still fails the run.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One file at a time. Three at a time took the suite from ~180 s to 80-90 s, but on this
    // 2-core machine the load made two lifecycle tests flaky: FerretDB loses a job_state update
    // that races a lease renewal, and more completions land during a checkpoint save.
    maxWorkers: 1
  }
})
