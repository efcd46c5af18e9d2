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
    // One worker process serves many test files instead of a new one per file: no test file
    // changes process-wide state (environment, working directory, globals), and a fresh
    // process per file cost ~0.2 s of start-up and a re-import of effect, the driver and the
    // SDK: ~11 s of CPU over the suite.
    isolate: false,
    // Three test files at a time on this 2-core machine: the suite is CPU-bound (~95 s of CPU,
    // FerretDB its largest consumer); two at a time took 61 s, three 52-58 s, four 52 s. Two
    // lifecycle tests were flaky this way until job_state writes were serialized (FerretDB
    // lost a save that raced a lease renewal) and the SIGKILL test asserted the real
    // re-analysis bound.
    maxWorkers: 3
  }
})
