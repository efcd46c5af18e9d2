import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, References, Result } from "effect"
import { JOB_NAME } from "../../src/domain/Result.ts"
import { runBatch } from "../../src/programs/Batch.ts"
import { AnthropicAnalyzer } from "../../src/analyzer/claude/AnthropicAnalyzer.ts"
import { RateLimiter } from "../../src/analyzer/claude/RateLimiter.ts"
import { Settings } from "../../src/services/Settings.ts"
import { loadAgentConfig } from "../../src/config/Rubric.ts"
import { resolveSettings } from "../../src/config/resolveSettings.ts"
import { envLayer, validInput, validScores } from "../support/claudeFixtures.ts"
import {
  errorAnswer,
  type LoopbackClaude,
  loopbackClaude,
  maxTokensAnswer,
  refusalAnswer,
  type Reply,
  toolAnswer
} from "../support/loopbackClaude.ts"
import { type MemoryWorld, memoryWorld, oid, REPO_ROOT, records, runServices } from "../support/fixtures.ts"

/**
 * Faults of the model provider, end to end in one process: the real Anthropic adapter (the SDK
 * on real timers) against the loopback server, the real batch and retry policy, in-memory stores.
 * Three records, one at a time, so the scripted replies map to records in order: the first and
 * the last are answered normally, the middle one gets the fault.
 */

const KEY = "sk-ant-test-faults-0000"
const BASE_DELAY_MS = 20
const TIMEOUT_MS = 300

const settings = () => {
  const base = Result.getOrThrow(resolveSettings({ config: path.join(REPO_ROOT, "test/support/empty.yaml") }, {}, REPO_ROOT))
  return Settings.layerValue(
    {
      ...base,
      batchSize: 10,
      concurrency: 1,
      llm: "anthropic",
      retry: { baseDelayMs: BASE_DELAY_MS, maxRetries: 3 },
      llmOptions: { ...base.llmOptions, timeoutMs: TIMEOUT_MS }
    },
    Result.getOrThrow(loadAgentConfig("config/agent_performance_config.yaml", REPO_ROOT))
  )
}

const runAgainst = (fake: LoopbackClaude, world: MemoryWorld) => {
  const s = settings()
  const analyzer = AnthropicAnalyzer.layer.pipe(
    Layer.provide(RateLimiter.layer),
    Layer.provide(s),
    Layer.provide(envLayer({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url }))
  )
  return runBatch().pipe(
    Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer, s)),
    Effect.provideService(References.MinimumLogLevel, "Warn"),
    Effect.exit
  )
}

/** Every source up to the checkpoint has exactly one result or one open dead letter, never both. */
const assertInvariant = (world: MemoryWorld) => {
  const checkpoint = world.states.get(JOB_NAME)?.last_processed_object_id ?? null
  const sourceIds = new Set(world.store.sources.map((r) => r.id))
  for (const id of sourceIds) {
    const result = world.store.results.has(id)
    const open = world.store.deadLetters.get(id)?.status === "open"
    assert.isFalse(result && open, `${id} has a result and an open dead letter`)
    if (checkpoint !== null && id <= checkpoint) assert.isTrue(result || open, `${id} is before the checkpoint but has neither`)
  }
  for (const id of [...world.store.results.keys(), ...world.store.deadLetters.keys()]) assert.isTrue(sourceIds.has(id), `${id} is no source`)
}

const ok = toolAnswer(validInput, { model: "claude-sonnet-4-6" })
const badOutput = toolAnswer({ ...validInput, empathy_subfactors: { ...validScores.empathy_subfactors, personalization: 14 } })
const times = (n: number, reply: Reply): Array<Reply> => Array.from({ length: n }, () => reply)

interface Case {
  readonly name: string
  /** Replies for the middle record. */
  readonly middle: ReadonlyArray<Reply>
  readonly expect:
    | { readonly outcome: "persisted" }
    /** An outage outlasted the retries: the batch stops before the record, nothing dead-lettered. */
    | { readonly outcome: "stopped" }
    | {
      readonly outcome: "dead"
      readonly tag: string
      readonly reason: string | null
      readonly status: number | null
      readonly field?: string
      readonly retriable: boolean
    }
  /** At least this long in all (a `retry-after` honoured). */
  readonly minMs?: number
}

const cases: ReadonlyArray<Case> = [
  {
    name: "429 with retry-after: waits as told, retried, then persisted",
    middle: [errorAnswer(429, "rate_limit_error", "rate limited", { "retry-after": "1" }), ok],
    expect: { outcome: "persisted" },
    minMs: 1000
  },
  {
    name: "529 every time: retried 3 times, then the batch stops before the record (failed, no dead letter)",
    middle: times(4, errorAnswer(529, "overloaded_error", "Overloaded")),
    expect: { outcome: "stopped" }
  },
  {
    name: "500 three times then OK: persisted on the 4th attempt",
    middle: [...times(3, errorAnswer(500, "api_error", "Internal server error")), ok],
    expect: { outcome: "persisted" }
  },
  {
    name: "no answer within llm.timeout: retried, then persisted",
    middle: [{ hang: true }, ok],
    expect: { outcome: "persisted" }
  },
  {
    name: "no answer ever: the batch stops before the record after 4 attempts",
    middle: times(4, { hang: true }),
    expect: { outcome: "stopped" }
  },
  {
    name: "500 with x-should-retry false: not retried, dead-lettered after 1 attempt",
    middle: [errorAnswer(500, "api_error", "will fail again", { "x-should-retry": "false" })],
    expect: { outcome: "dead", tag: "AnalyzerError", reason: "ServerError", status: 500, retriable: false }
  },
  {
    name: "an answer cut at max_tokens: not retried, dead-lettered MaxTokens",
    middle: [maxTokensAnswer()],
    expect: { outcome: "dead", tag: "AnalyzerError", reason: "MaxTokens", status: null, retriable: false }
  },
  {
    name: "a refusal: not retried, dead-lettered Refusal",
    middle: [refusalAnswer()],
    expect: { outcome: "dead", tag: "AnalyzerError", reason: "Refusal", status: null, retriable: false }
  },
  {
    name: "invalid tool output then valid: retried, then persisted",
    middle: [badOutput, ok],
    expect: { outcome: "persisted" }
  },
  {
    name: "invalid tool output every time: dead-lettered ModelOutputInvalid naming the field",
    middle: times(4, badOutput),
    expect: { outcome: "dead", tag: "ModelOutputInvalid", reason: null, status: null, field: "empathy_subfactors.personalization", retriable: true }
  },
  {
    name: "400: not retried, dead-lettered BadRequest after 1 attempt",
    middle: [errorAnswer(400, "invalid_request_error", "messages.0.content: bad")],
    expect: { outcome: "dead", tag: "AnalyzerError", reason: "BadRequest", status: 400, retriable: false }
  }
]

describe("analyzer faults through the loopback Claude server", () => {
  for (const c of cases) {
    it.live(c.name, () =>
      Effect.gen(function*() {
        const fake = yield* loopbackClaude()
        fake.script("messages", ok, ...c.middle, ok)
        const world = memoryWorld(records(3))
        const started = Date.now()
        const exit = yield* runAgainst(fake, world)
        const elapsed = Date.now() - started

        if (c.expect.outcome === "stopped") {
          const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
          const failure = (error as { error?: { _tag?: string; transient?: boolean; sourceId?: string } } | undefined)?.error
          assert.strictEqual(failure?._tag, "RunFatal")
          assert.isTrue(failure?.transient)
          assert.strictEqual(failure?.sourceId, oid(1))
          assert.strictEqual(fake.requestsTo("messages").length, c.middle.length + 1, "the record after it is not started")
          assert.strictEqual(world.store.deadLetters.size, 0, "an outage blames no record")
          assert.strictEqual(world.states.get(JOB_NAME)?.status, "failed")
          assert.strictEqual(world.states.get(JOB_NAME)?.last_processed_object_id, oid(0))
          assertInvariant(world)
          // The next batch (or run) retries it.
          fake.script("messages", ok)
          assert.isTrue(Exit.isSuccess(yield* runAgainst(fake, world)))
          assert.strictEqual(world.store.results.size, 3)
          return
        }
        assert.isTrue(Exit.isSuccess(exit), `the batch completes: ${String(exit)}`)
        const stats = Exit.isSuccess(exit) ? exit.value : undefined
        assert.strictEqual(fake.requestsTo("messages").length, c.middle.length + 2, "one request per scripted reply, none more")
        assert.strictEqual(stats?.records_processed, 3)
        assert.isTrue(world.store.results.has(oid(0)) && world.store.results.has(oid(2)), "the neighbours are unaffected")
        const state = world.states.get(JOB_NAME)
        assert.strictEqual(state?.status, "completed")
        assert.strictEqual(state?.last_processed_object_id, oid(2))
        if (c.expect.outcome === "persisted") {
          assert.isTrue(world.store.results.has(oid(1)))
          assert.strictEqual(world.store.deadLetters.size, 0)
          assert.strictEqual(stats?.errors, 0)
          assert.strictEqual(world.store.results.get(oid(1))?.analysis_metadata.model_used, "claude-sonnet-4-6")
        } else {
          assert.isFalse(world.store.results.has(oid(1)))
          assert.strictEqual(stats?.errors, 1)
          const dead = world.store.deadLetters.get(oid(1))
          assert.deepStrictEqual(
            dead && { ...dead.error, message: undefined },
            {
              tag: c.expect.tag,
              reason: c.expect.reason,
              http_status: c.expect.status,
              field: c.expect.field ?? null,
              retriable: c.expect.retriable,
              attempts: c.middle.length,
              message: undefined
            }
          )
          assert.strictEqual(dead?.attempts, c.middle.length)
          assert.strictEqual(dead?.status, "open")
          assert.notInclude(dead?.error.message, KEY)
        }
        if (c.minMs !== undefined) assert.isAtLeast(elapsed, c.minMs, "retry-after honoured")
        assertInvariant(world)
      }), 20_000)
  }

  it.live("401: the run stops with no dead letter, the checkpoint before the failed record, and nothing after it is tried", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("messages", ok, errorAnswer(401, "authentication_error", `invalid x-api-key ${KEY}`), ok)
      const world = memoryWorld(records(3))
      const exit = yield* runAgainst(fake, world)

      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const failure = (error as { error?: { _tag?: string; message?: string; sourceId?: string } } | undefined)?.error
      assert.strictEqual(failure?._tag, "RunFatal")
      assert.strictEqual(failure?.sourceId, oid(1))
      assert.include(failure?.message, "401")
      assert.notInclude(failure?.message, KEY)

      assert.strictEqual(fake.requestsTo("messages").length, 2, "a 401 is not retried and the next record is not started")
      assert.strictEqual(world.store.deadLetters.size, 0)
      assert.deepStrictEqual([...world.store.results.keys()], [oid(0)])
      const state = world.states.get(JOB_NAME)
      assert.strictEqual(state?.status, "failed")
      assert.strictEqual(state?.last_processed_object_id, oid(0))
      assertInvariant(world)

      // Once the key is fixed, the next run starts at the failed record.
      fake.script("messages", ok, ok)
      const rerun = yield* runAgainst(fake, world)
      assert.isTrue(Exit.isSuccess(rerun))
      assert.deepStrictEqual([...world.store.results.keys()].sort(), [oid(0), oid(1), oid(2)])
      assert.strictEqual(world.states.get(JOB_NAME)?.last_processed_object_id, oid(2))
      assertInvariant(world)
    }), 20_000)

  it.live("a 404 in the middle of a run (model retired): the run stops, nothing dead-lettered", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("messages", ok, errorAnswer(404, "not_found_error", "model: claude-sonnet-4-6"), ok)
      const world = memoryWorld(records(3))
      const exit = yield* runAgainst(fake, world)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "404")
      assert.strictEqual(fake.requestsTo("messages").length, 2)
      assert.strictEqual(world.store.deadLetters.size, 0)
      assert.strictEqual(world.states.get(JOB_NAME)?.last_processed_object_id, oid(0))
      assertInvariant(world)
    }), 20_000)

  it.live("the same 400 on 3 requests in a row (a parameter the model rejects): the run stops after 3 dead letters", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude({ defaultStatus: 400 })
      const world = memoryWorld(records(10))
      const exit = yield* runAgainst(fake, world)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "the same error on 3 requests in a row")
      assert.strictEqual(fake.requestsTo("messages").length, 3)
      assert.strictEqual(world.store.deadLetters.size, 3)
      assert.strictEqual(world.states.get(JOB_NAME)?.status, "failed")
      assertInvariant(world)
    }), 20_000)
})
