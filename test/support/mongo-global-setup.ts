/**
 * vitest globalSetup: provides `mongoUri` to the tests (read it with `inject("mongoUri")`).
 *
 * It is a real MongoDB-wire server from acquireTestMongo() (MONGODB_TEST_URI, a `mongod` on
 * PATH, or FerretDB built from tools/ferretdb), stopped after the run. When none can be had:
 *   - with CI=true or REQUIRE_MONGO=1 the run fails with the reason;
 *   - otherwise a loud warning goes to stderr and `mongoUri` is "" (integration tests skip).
 *
 * Use it in vitest.config.ts as `test: { globalSetup: ["test/support/mongo-global-setup.ts"] }`.
 * A cold FerretDB build takes ~2 min; raise no timeout for it: vitest does not time out globalSetup.
 */
import type { TestProject } from "vitest/node";
import { acquireTestMongo } from "./mongo-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** URI of the test MongoDB server, or "" when none is available (integration tests skip). */
    mongoUri: string;
    /** Which server `mongoUri` points at: "env", "mongod", "ferretdb", or "" when none. */
    mongoKind: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const result = await acquireTestMongo();

  if ("unavailable" in result) {
    const required = process.env["CI"] === "true" || process.env["REQUIRE_MONGO"] === "1";
    if (required) {
      throw new Error(
        `No MongoDB-compatible server for the integration tests (required because ${
          process.env["CI"] === "true" ? "CI=true" : "REQUIRE_MONGO=1"
        }):\n${result.unavailable}`,
      );
    }
    const bar = "!".repeat(78);
    process.stderr.write(
      [
        "",
        bar,
        "!!! WARNING: NO MONGODB SERVER: MONGODB INTEGRATION TESTS WILL BE SKIPPED",
        "!!!",
        ...result.unavailable.split("\n").map((line) => `!!!   ${line}`),
        "!!!",
        "!!! Fix: set MONGODB_TEST_URI, put `mongod` on PATH, or make",
        "!!!      `bash tools/ferretdb/build.sh` work (needs Go >= 1.24 and the Go module proxy).",
        "!!! Set REQUIRE_MONGO=1 (CI=true does too) to make this an error.",
        bar,
        "",
        "",
      ].join("\n"),
    );
    project.provide("mongoUri", "");
    project.provide("mongoKind", "");
    return async () => {};
  }

  if (process.env["CPA_MONGO_LOG"] === "1" || Date.now() - started > 10_000) {
    process.stderr.write(`test MongoDB: ${result.kind} at ${result.uri} (ready in ${Date.now() - started} ms)\n`);
  }
  project.provide("mongoUri", result.uri);
  project.provide("mongoKind", result.kind);
  return async () => {
    await result.stop();
  };
}
