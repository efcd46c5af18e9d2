import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AnalyzerError, ConfigError } from "../src/domain/Errors.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { analyzerLayer } from "../src/analyzer/AnalyzerProvider.ts"
import { envLayer, settingsLayer } from "./support/claudeFixtures.ts"
import { loopbackClaude } from "./support/loopbackClaude.ts"

const provider = (env: Record<string, string>, patch: Parameters<typeof settingsLayer>[0] = {}) =>
  Effect.gen(function*() {
    return (yield* Analyzer).provider
  }).pipe(Effect.provide(analyzerLayer.pipe(Layer.provide(settingsLayer(patch)), Layer.provide(envLayer(env)))))

describe("analyzerLayer", () => {
  it.effect("--llm heuristic needs no credentials", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* provider({}, { llm: "heuristic" }), "heuristic")
    }))

  it.effect("auto: Claude direct when ANTHROPIC_API_KEY is set, even with an AI Core key present", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* provider({ ANTHROPIC_API_KEY: "sk-ant-x", AICORE_SERVICE_KEY: "{}" }), "anthropic")
    }))

  it.effect("auto: SAP AI Core when only AICORE_SERVICE_KEY is set", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const key = { clientid: "id", clientsecret: "secret", url: fake.url, serviceurls: { AI_API_URL: fake.url } }
      assert.strictEqual(yield* provider({ AICORE_SERVICE_KEY: JSON.stringify(key) }), "aicore")
      assert.deepStrictEqual(fake.requests.map((r) => r.route), ["token", "deployments"])
    }))

  it.effect("auto: SAP AI Core when the key file exists", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-provider-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "key.yaml")
      fs.writeFileSync(file, `clientid: id\nclientsecret: secret\nurl: ${fake.url}\nserviceurls:\n  AI_API_URL: ${fake.url}\n`)
      assert.strictEqual(yield* provider({}, { llmOptions: { aicoreCredentialsPath: file } }), "aicore")
    }))

  it.effect("auto with no credentials at all: a one-line ConfigError naming both and --llm heuristic", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(provider({}))
      assert.instanceOf(e, ConfigError)
      assert.notInclude(e.message, "\n")
      for (const part of ["ANTHROPIC_API_KEY", "AICORE_SERVICE_KEY", "--llm heuristic"]) assert.include(e.message, part)
    }))

  it.effect("--llm anthropic without a key is a fatal Credentials error, not a guess", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(provider({}, { llm: "anthropic" }))
      assert.instanceOf(e, AnalyzerError)
      assert.strictEqual((e as AnalyzerError).reason, "Credentials")
    }))
})
