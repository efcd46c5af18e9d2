import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Starts (or finds) the MongoDB-wire server the integration tests use; see the file.
    globalSetup: ["test/support/mongo-global-setup.ts"],
    // Integration tests talk to a real server: generous, but a hang still fails the run.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
