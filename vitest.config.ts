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
    // Most of the suite waits (child CLIs, a killed and restarted server, loopback latency), not
    // computes: three files at a time cut the wall time by a third on two cores.
    maxWorkers: 3
  }
})
