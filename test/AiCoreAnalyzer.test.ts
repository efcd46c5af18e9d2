import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import YAML from "yaml"
import { TestClock } from "effect/testing"
import { AnalyzerError, ConfigError } from "../src/domain/Errors.ts"
import { AiCoreAnalyzer, parseDeployments } from "../src/analyzer/claude/AiCoreAnalyzer.ts"
import { parseServiceKey } from "../src/analyzer/claude/AiCoreAuth.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { TOOL_NAME } from "../src/analyzer/claude/Request.ts"
import { RateLimiter } from "../src/analyzer/claude/RateLimiter.ts"
import { conversation, envLayer, settingsLayer, validInput, validScores } from "./support/claudeFixtures.ts"
import {
  AICORE_MODEL,
  deployment,
  DEPLOYMENT_ID,
  errorAnswer,
  type LoopbackClaude,
  loopbackClaude,
  toolAnswer
} from "./support/loopbackClaude.ts"

const CLIENT_ID = "sb-5f1e2d3c!b1234|aicore!b540"
const SECRET = "4f1c2d3e-aaaa-bbbb-cccc-0123456789ab$Zx0+/="

/** A service key as SAP hands it out, nested under `credentials`, written to a temporary file. */
const keyFile = (fake: LoopbackClaude, fields: Record<string, unknown> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-aicore-"))
      const file = path.join(dir, "aicore_credentials.yaml")
      const credentials = {
        clientid: CLIENT_ID,
        clientsecret: SECRET,
        url: fake.url,
        identityzone: "acme",
        serviceurls: { AI_API_URL: fake.url },
        ...fields
      }
      fs.writeFileSync(file, `# service key\ncredentials:\n${JSON.stringify(credentials, null, 2).replace(/^/gm, "  ")}\n`)
      return file
    }),
    (file) => Effect.sync(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))
  )

const aicoreLayer = (
  options: { readonly env?: Record<string, string> } & Parameters<typeof settingsLayer>[0]
) =>
  AiCoreAnalyzer.layer.pipe(
    Layer.provide(RateLimiter.layer),
    Layer.provide(settingsLayer({ llm: "aicore", ...options })),
    Layer.provide(envLayer(options.env ?? {}))
  )

const build = (options: Parameters<typeof aicoreLayer>[0]) =>
  Effect.gen(function*() {
    return yield* Analyzer
  }).pipe(Effect.provide(aicoreLayer(options)))

/** The analyzer with a key file pointing at the fake server. */
const analyzerFor = (fake: LoopbackClaude, llmOptions: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const file = yield* keyFile(fake)
    return yield* build({ llmOptions: { aicoreCredentialsPath: file, ...llmOptions } })
  })

const invokePath = `/v2/inference/deployments/${DEPLOYMENT_ID}/invoke`

describe("AiCoreAnalyzer request", () => {
  it.effect("gets a token, finds the RUNNING deployment of the model and invokes it with the Bedrock body", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", toolAnswer(validInput))
      const analyzer = yield* analyzerFor(fake, { aicoreResourceGroup: "team-a", maxTokens: 1500 })
      const analysis = yield* analyzer.analyze(conversation)
      assert.strictEqual(analyzer.provider, "aicore")
      assert.deepStrictEqual(analysis.scores, validScores)
      assert.strictEqual(analysis.model, AICORE_MODEL, "the answer has no model: the configured name")

      assert.deepStrictEqual(fake.requests.map((r) => `${r.method} ${r.path}`), [
        "POST /oauth/token",
        "GET /v2/lm/deployments?scenarioId=foundation-models&status=RUNNING",
        `POST ${invokePath}`
      ])
      const [token, list, invoke] = fake.requests as [any, any, any]
      assert.deepStrictEqual(token.body, { grant_type: "client_credentials", client_id: CLIENT_ID, client_secret: SECRET })
      assert.strictEqual(token.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(list.headers.authorization, "Bearer token-1")
      assert.strictEqual(list.headers["ai-resource-group"], "team-a")

      assert.strictEqual(invoke.headers.authorization, "Bearer token-1")
      assert.strictEqual(invoke.headers["ai-resource-group"], "team-a")
      assert.strictEqual(invoke.headers["content-type"], "application/json")
      const body = invoke.body
      assert.strictEqual(body.anthropic_version, "bedrock-2023-05-31")
      assert.isFalse("model" in body, "no model in the AI Core body")
      assert.isUndefined(body.temperature)
      assert.strictEqual(body.max_tokens, 1500)
      assert.deepStrictEqual(body.tool_choice, { type: "tool", name: TOOL_NAME })
      assert.strictEqual(body.tools[0].input_schema.properties.sentiment_shift.minimum, -1)
      assert.deepStrictEqual(body.system[0].cache_control, { type: "ephemeral" })
      assert.include(body.messages[0].content[0].text, "<conversation_json>")
    }))

  it.effect("takes the key from AICORE_SERVICE_KEY and a configured deployment URL, checked against the deployments", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("deployments", { status: 200, body: { count: 1, resources: [deployment(fake.url, "dpinned", AICORE_MODEL)] } })
      fake.script("invoke", toolAnswer(validInput, { model: "claude-sonnet-4-5-20250929" }))
      const key = { clientid: CLIENT_ID, clientsecret: SECRET, url: fake.url, serviceurls: { AI_API_URL: fake.url } }
      const analyzer = yield* build({
        env: { AICORE_SERVICE_KEY: JSON.stringify(key) },
        llmOptions: { aicoreDeploymentUrl: `${fake.url}/v2/inference/deployments/dpinned/` }
      })
      const analysis = yield* analyzer.analyze(conversation)
      assert.strictEqual(analysis.model, "claude-sonnet-4-5-20250929", "the model the answer reports")
      assert.deepStrictEqual(fake.requests.map((r) => `${r.method} ${r.path}`), [
        "POST /oauth/token",
        "GET /v2/lm/deployments?scenarioId=foundation-models&status=RUNNING",
        "POST /v2/inference/deployments/dpinned/invoke"
      ])
      assert.strictEqual(fake.requests[2]!.headers["ai-resource-group"], "default")
    }))

  it.effect("a configured deployment URL that does not serve the model (retired, deleted): a ConfigError at start-up", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const e = yield* Effect.flip(analyzerFor(fake, { aicoreDeploymentUrl: `${fake.url}/v2/inference/deployments/dgone` }))
      assert.instanceOf(e, ConfigError)
      assert.include(e.message, `is not a RUNNING deployment of model ${AICORE_MODEL}`)
      assert.strictEqual(fake.requestsTo("invoke").length, 0)
    }))

  it.effect("a deployment URL that is not a URL is a ConfigError at start-up", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const e = yield* Effect.flip(analyzerFor(fake, { aicoreDeploymentUrl: "d0123456789abcdef" }))
      assert.instanceOf(e, ConfigError)
      assert.include(e.message, "llm.aicore.deployment_url")
    }))

  it.effect("no RUNNING deployment of the model: a ConfigError naming it and listing what was found", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.setDefault("deployments", {
        status: 200,
        body: { count: 2, resources: [deployment(fake.url, "d1", "gpt-4o"), deployment(fake.url, "d2", AICORE_MODEL, "STOPPED")] }
      })
      const e = yield* Effect.flip(analyzerFor(fake))
      assert.instanceOf(e, ConfigError)
      assert.include(e.message, `no RUNNING deployment of model ${AICORE_MODEL} in resource group default`)
      assert.include(e.message, "gpt-4o RUNNING")
      assert.include(e.message, `${AICORE_MODEL} STOPPED`)
    }))

  it.effect("--model is for Claude direct: AI Core looks up llm.aicore.model", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", toolAnswer(validInput))
      const file = yield* keyFile(fake)
      const analyzer = yield* build({ model: "claude-sonnet-4-6", llmOptions: { aicoreCredentialsPath: file } })
      assert.strictEqual((yield* analyzer.analyze(conversation)).model, AICORE_MODEL)
      assert.strictEqual(fake.requestsTo("invoke")[0]!.path, invokePath)
    }))

  it("reads backendDetails as well as backend_details, and flat or nested keys", () => {
    const flat = parseServiceKey({ clientid: "a", clientsecret: "b0b0", url: "https://auth.example", serviceurls: { AI_API_URL: "https://api.example/" } }, "x")
    assert.notInstanceOf(flat, AnalyzerError)
    assert.strictEqual((flat as any).aiApiUrl, "https://api.example")
    const camel = parseDeployments({ resources: [{ id: "d9", status: "RUNNING", details: { resources: { backendDetails: { model: { name: "m" } } } } }] }, "https://api.example")
    assert.deepStrictEqual(camel, [{ id: "d9", url: "https://api.example/v2/inference/deployments/d9", status: "RUNNING", model: "m" }])
    const example = parseServiceKey(YAML.parse(fs.readFileSync("config/aicore_credentials.example.yaml", "utf8")), "example")
    assert.notInstanceOf(example, AnalyzerError, "the example file is a usable key")
    assert.strictEqual((example as any).aiApiUrl, "https://api.ai.prod.eu-central-1.aws.ml.hana.ondemand.com")
    const vcap = parseServiceKey({ aicore: [{ credentials: { client_id: "a", client_secret: "b0b0", auth_url: "https://auth.example", ai_api_url: "https://api.example" } }] }, "x")
    assert.notInstanceOf(vcap, AnalyzerError)
  })
})

describe("AiCoreAnalyzer rationale", () => {
  it.effect("checks the evidence of an AI Core answer against the conversation like a direct one", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", toolAnswer({
        ...validInput,
        rationale: {
          ...validInput.rationale,
          efficiency_resolution: {
            reason: "One reply did the work.",
            evidence: [{ message: 2, quote: "it arrives thursday" }, { message: 3, quote: "thanks, that worked" }]
          }
        }
      }))
      const analyzer = yield* analyzerFor(fake)
      const analysis = yield* analyzer.analyze(conversation)
      const invoke = fake.requestsTo("invoke")[0]!
      assert.strictEqual(Object.keys(invoke.body.tools[0].input_schema.properties)[0], "rationale")
      assert.deepStrictEqual(analysis.rationale!.efficiency_resolution.evidence, [{ message: 2, quote: "it arrives Thursday" }])
      assert.strictEqual(analysis.evidenceDropped, 1)
    }))
})

describe("AiCoreAnalyzer token", () => {
  it.effect("a token near expiry is replaced before the next call", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      let n = 0
      fake.setDefault("token", () => ({ status: 200, body: { access_token: `short-${++n}`, expires_in: 120 } }))
      fake.script("invoke", toolAnswer(validInput), toolAnswer(validInput), toolAnswer(validInput))
      const analyzer = yield* analyzerFor(fake)
      yield* analyzer.analyze(conversation)
      yield* TestClock.adjust("100 seconds")
      yield* analyzer.analyze(conversation)
      yield* TestClock.adjust("10 seconds")
      yield* analyzer.analyze(conversation)
      const bearer = fake.requestsTo("invoke").map((r) => r.headers.authorization)
      // 120 s tokens are refreshed 12 s before expiry: still fresh at 100 s, replaced at 110 s.
      assert.deepStrictEqual(bearer, ["Bearer short-1", "Bearer short-1", "Bearer short-2"])
      assert.strictEqual(fake.requestsTo("token").length, 2)
    }))

  it.effect("a 401 on invoke fetches a new token once and retries", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", { status: 401, body: { message: "Token expired" } }, toolAnswer(validInput))
      const analyzer = yield* analyzerFor(fake)
      const analysis = yield* analyzer.analyze(conversation)
      assert.deepStrictEqual(analysis.scores, validScores)
      assert.deepStrictEqual(fake.requestsTo("invoke").map((r) => r.headers.authorization), ["Bearer token-1", "Bearer token-2"])
      assert.strictEqual(fake.requestsTo("token").length, 2)
    }))

  it.effect("a second 401 is a fatal Unauthorized, after exactly one refresh", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", { status: 401, body: { message: "Unauthorized" } }, { status: 401, body: { message: "Unauthorized" } })
      const analyzer = yield* analyzerFor(fake)
      const e = yield* Effect.flip(analyzer.analyze(conversation))
      assert.strictEqual((e as AnalyzerError).reason, "Unauthorized")
      assert.strictEqual((e as AnalyzerError).severity, "fatal")
      assert.strictEqual(fake.requestsTo("invoke").length, 2)
      assert.strictEqual(fake.requestsTo("token").length, 2)
      assert.notInclude(e.message, "token-2")
    }))
})

describe("AiCoreAnalyzer credentials", () => {
  it.effect("no key file and no AICORE_SERVICE_KEY: fatal Credentials when the layer is built", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(build({ llmOptions: { aicoreCredentialsPath: "/nonexistent/aicore_credentials.yaml" } }))
      assert.strictEqual((e as AnalyzerError).reason, "Credentials")
      assert.include(e.message, "/nonexistent/aicore_credentials.yaml")
      assert.include(e.message, "AICORE_SERVICE_KEY")
    }))

  it.effect("client credentials the auth server refuses stop the build, and the secret is not in the message", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("token", { status: 401, body: { error: "unauthorized", error_description: `Bad credentials for ${SECRET}` } })
      const e = yield* Effect.flip(analyzerFor(fake))
      assert.strictEqual((e as AnalyzerError).reason, "Credentials")
      assert.strictEqual((e as AnalyzerError).severity, "fatal")
      assert.include(e.message, "Bad credentials")
      assert.notInclude(e.message, SECRET)
      assert.strictEqual(fake.requestsTo("invoke").length, 0)
    }))

  it.effect("a token answer without access_token is a Credentials error, an auth server 503 a retriable one", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("token", { status: 200, body: { token_type: "bearer" } }, { status: 503, body: "busy" })
      const first = yield* Effect.flip(analyzerFor(fake))
      assert.strictEqual((first as AnalyzerError).reason, "Credentials")
      const second = yield* Effect.flip(analyzerFor(fake))
      assert.strictEqual((second as AnalyzerError).reason, "ServerError")
      assert.isTrue((second as AnalyzerError).isRetryable)
    }))

  it.effect("a key without AI_API_URL names the missing field", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const file = yield* keyFile(fake, { serviceurls: {} })
      const e = yield* Effect.flip(build({ llmOptions: { aicoreCredentialsPath: file } }))
      assert.strictEqual((e as AnalyzerError).reason, "Credentials")
      assert.include(e.message, "serviceurls.AI_API_URL")
      assert.notInclude(e.message, SECRET)
    }))

  it.effect("a key that is not YAML or JSON is refused without quoting it", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(build({ env: { AICORE_SERVICE_KEY: `{"clientsecret": "${SECRET}", ` } }))
      assert.strictEqual((e as AnalyzerError).reason, "Credentials")
      assert.notInclude(e.message, SECRET)
    }))
})

describe("AiCoreAnalyzer errors", () => {
  it.effect.each([
    ["429 with retry-after", { status: 429, headers: { "retry-after": "12" }, body: { message: "Too many requests" } }, "RateLimited", 12_000],
    ["500", { status: 500, body: { message: "upstream failure" } }, "ServerError", undefined],
    ["400 (Bedrock words)", { status: 400, body: { message: "messages.0.content.0.text: field required" } }, "BadRequest", undefined],
    ["404", { status: 404, body: { error: { code: "404", message: "Deployment not found" } } }, "NotFound", undefined]
  ] as const)("%s", ([, reply, reason, wait]) =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", reply)
      const analyzer = yield* analyzerFor(fake)
      const e = yield* Effect.flip(analyzer.analyze(conversation))
      assert.instanceOf(e, AnalyzerError)
      assert.strictEqual((e as AnalyzerError).reason, reason)
      assert.strictEqual((e as AnalyzerError).retryAfterMs, wait)
      assert.include(e.message, (reply.body as any).message ?? (reply.body as any).error.message)
      assert.include(e.message, "SAP AI Core")
    }))

  it.effect("an invoke that never answers is a Timeout", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", { hang: true })
      const analyzer = yield* analyzerFor(fake, { timeoutMs: 200 })
      const e = yield* Effect.flip(analyzer.analyze(conversation))
      assert.strictEqual((e as AnalyzerError).reason, "Timeout")
      assert.isTrue(e.isRetryable)
    }))

  it.effect("an answer with out-of-range scores is ModelOutputInvalid naming the field", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      fake.script("invoke", toolAnswer({ ...validInput, csat_resolution: 6 }))
      const analyzer = yield* analyzerFor(fake)
      const e = yield* Effect.flip(analyzer.analyze(conversation))
      assert.strictEqual(e._tag, "ModelOutputInvalid")
      assert.strictEqual((e as any).field, "csat_resolution")
    }))
})

describe("AiCoreAnalyzer throughput", () => {
  it.effect("without rate-limit headers it adapts from the 429s alone: fewer requests in flight, every request paused", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude({ defaultStatus: 200 })
      const file = yield* keyFile(fake)
      const { analyzer, limiter } = yield* Effect.gen(function*() {
        return { analyzer: yield* Analyzer, limiter: yield* RateLimiter }
      }).pipe(Effect.provide(
        AiCoreAnalyzer.layer.pipe(
          Layer.provideMerge(RateLimiter.layer),
          Layer.provide(settingsLayer({ llm: "aicore", llmOptions: { aicoreCredentialsPath: file } })),
          Layer.provide(envLayer({}))
        )
      ))
      // Grow from the floor first.
      for (let i = 0; i < 6; i++) yield* analyzer.analyze(conversation)
      const grown = (yield* limiter.state).limit
      assert.isAbove(grown, 2)
      fake.script("invoke", errorAnswer(429, "rate_limit_error", "Too many requests", { "retry-after": "4" }))
      const e = yield* Effect.flip(analyzer.analyze(conversation))
      assert.strictEqual((e as AnalyzerError).reason, "RateLimited")
      const state = yield* limiter.state
      assert.strictEqual(state.limit, Math.max(2, Math.floor(grown / 2)))
      assert.strictEqual(state.pausedUntil, 4000, "retry-after holds every request")
      assert.isUndefined(state.learnedPerMinute)
    }))
})
