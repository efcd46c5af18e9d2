import { Effect, type Exit, Layer, Predicate, Redacted } from "effect"
import { type AnalyzerError, ConfigError } from "../../domain/Errors.ts"
import type { Conversation } from "../../domain/Source.ts"
import { isHttpUrl } from "../../domain/Text.ts"
import { type HttpAnswer, httpRequest, loadServiceKey, makeTokenSource, type ServiceKey, type TokenSource } from "./AiCoreAuth.ts"
import { Analyzer } from "../../services/Analyzer.ts"
import { type ClassifyContext, classifyStatus, retryAfterMs } from "./Errors.ts"
import { estimateRunUsage } from "./Estimate.ts"
import { buildRubricPrompt, prefixTokens } from "./Prompt.ts"
import { buildMessagesBody, kpiTool, type RequestOptions, toBedrockBody } from "./Request.ts"
import { decodeAnalysis } from "./Response.ts"
import { type Feedback, RateLimiter } from "./RateLimiter.ts"
import { checkCachePrefix, warnIfUnpriced } from "./StartupChecks.ts"
import { Settings } from "../../services/Settings.ts"

const PROVIDER = "SAP AI Core"

interface DeploymentInfo {
  readonly id: string
  readonly url: string
  readonly status: string
  readonly model: string | undefined
}

const obj = (v: unknown): Record<string, unknown> => (Predicate.isObject(v) ? v as Record<string, unknown> : {})
const s = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined)

/** The deployments of a `GET /v2/lm/deployments` answer; the model sits in `backend_details` (or `backendDetails`). */
export const parseDeployments = (body: unknown, aiApiUrl: string): Array<DeploymentInfo> => {
  const resources = obj(body).resources
  if (!Array.isArray(resources)) return []
  return resources.flatMap((r): Array<DeploymentInfo> => {
    const d = obj(r)
    const id = s(d.id)
    if (id === undefined) return []
    const res = obj(obj(d.details).resources)
    const backend = obj(res.backend_details ?? res.backendDetails)
    return [{
      id,
      url: s(d.deploymentUrl) ?? `${aiApiUrl}/v2/inference/deployments/${id}`,
      status: s(d.status) ?? "UNKNOWN",
      model: s(obj(backend.model).name)
    }]
  })
}

/** The deployments query SAP's own SDK makes: running foundation models only. */
export const DEPLOYMENTS_QUERY = "scenarioId=foundation-models&status=RUNNING"

const trimUrl = (url: string): string => url.replace(/\/+$/, "")

/**
 * Finds the RUNNING deployment of `model` in the resource group, or checks that the configured
 * `deployment_url` is one. None → a `ConfigError` (exit 2) that names the model and lists the
 * deployments that were found, so the fix is obvious (a retired model's deployment is stopped
 * and deleted by SAP, so it shows up here).
 */
const discoverDeployment = (
  key: ServiceKey,
  tokens: TokenSource,
  resourceGroup: string,
  model: string,
  configuredUrl: string | undefined,
  timeoutMs: number,
  ctx: ClassifyContext
): Effect.Effect<string, AnalyzerError | ConfigError> =>
  Effect.gen(function*() {
    const token = yield* tokens.get
    const answer = yield* httpRequest(`${key.aiApiUrl}/v2/lm/deployments?${DEPLOYMENTS_QUERY}`, {
      method: "GET",
      headers: { authorization: `Bearer ${Redacted.value(token)}`, "ai-resource-group": resourceGroup, accept: "application/json" }
    }, timeoutMs, { ...ctx, secrets: [...ctx.secrets, Redacted.value(token)] })
    if (answer.status < 200 || answer.status >= 300) {
      return yield* classifyStatus(answer.status, answer.headers, answer.body, { ...ctx, secrets: [...ctx.secrets, Redacted.value(token)] })
    }
    const deployments = parseDeployments(answer.body, key.aiApiUrl)
    const running = deployments.filter((d) => d.status === "RUNNING" && d.model === model)
    if (configuredUrl !== undefined) {
      const pinned = running.find((d) => trimUrl(d.url) === trimUrl(configuredUrl) || trimUrl(configuredUrl).endsWith(`/deployments/${d.id}`))
      if (pinned !== undefined) return configuredUrl
      const there = deployments.find((d) => trimUrl(configuredUrl).endsWith(`/deployments/${d.id}`))
      return yield* new ConfigError({
        setting: "llm.aicore.deployment_url",
        message: `llm.aicore.deployment_url (AICORE_DEPLOYMENT_URL) ${configuredUrl} is not a RUNNING deployment of model ${model} in resource group ${resourceGroup}` +
          (there !== undefined ? ` (it serves ${there.model ?? "no model"}, ${there.status})` : "") +
          ". Fix llm.aicore.model (AICORE_MODEL) or the URL, or unset the URL to look the deployment up by model."
      })
    }
    if (running[0] !== undefined) return running[0].url
    const found = [...new Set(deployments.map((d) => `${d.model ?? `(no model, ${d.id})`} ${d.status}`))]
    return yield* new ConfigError({
      setting: "llm.aicore.model",
      message: `SAP AI Core has no RUNNING deployment of model ${model} in resource group ${resourceGroup}; ` +
        (found.length > 0 ? `found: ${found.join(", ")}` : "found no deployments") +
        ". Set llm.aicore.model (AICORE_MODEL) to one of them, or llm.aicore.deployment_url (AICORE_DEPLOYMENT_URL)."
    })
  })

/** What an invoke answer tells the throughput controller (AI Core may send no rate-limit headers: then 429s alone). */
const feedbackOf = (exit: Exit.Exit<HttpAnswer, AnalyzerError>): Feedback => {
  if (exit._tag === "Failure") return { status: undefined }
  const { body, headers, status } = exit.value
  const usage = obj(obj(body).usage)
  const n = (v: unknown) => (typeof v === "number" ? v : 0)
  return {
    status,
    headers,
    retryAfterMs: retryAfterMs(headers),
    ...(status === 200 ? { inputTokens: n(usage.input_tokens) + n(usage.cache_creation_input_tokens), outputTokens: n(usage.output_tokens) } : {})
  }
}

/**
 * Claude through SAP AI Core's Bedrock-style `invoke` endpoint.
 *
 * Plain `fetch`, not the SDK: AI Core wants the body's `anthropic_version` (bedrock-2023-05-31)
 * with no `model`, and a short-lived OAuth token we refresh ourselves, while SDK 1.x sends
 * API version 2026-10-21 and its own credential headers. The request body, the decoding of the
 * answer and the classification of HTTP errors are the same functions the direct adapter uses
 * (`ClaudeRequest.ts`).
 */
export class AiCoreAnalyzer {
  static readonly layer: Layer.Layer<Analyzer, AnalyzerError | ConfigError, Settings | RateLimiter> = Layer.effect(
    Analyzer,
    Effect.gen(function*() {
      const settings = yield* Settings
      const limiter = yield* RateLimiter
      const { timeoutMs, maxTokens, aicoreResourceGroup: resourceGroup } = settings.llmOptions
      const key = yield* loadServiceKey(settings.llmOptions.aicoreCredentialsPath)
      const tokens = yield* makeTokenSource(key, timeoutMs)
      const ctx: ClassifyContext = { provider: PROVIDER, secrets: [Redacted.value(key.clientSecret)] }
      // Fails the build on credentials the auth server refuses, not the first record.
      yield* tokens.get
      const model = settings.llmOptions.aicoreModel
      if (settings.model !== undefined && settings.model !== model) {
        yield* Effect.logWarning(
          `analyzer: --model/CPA_MODEL/llm.model (${settings.model}) is for Claude direct; SAP AI Core uses llm.aicore.model (AICORE_MODEL): ${model}`
        )
      }
      const configuredUrl = settings.llmOptions.aicoreDeploymentUrl
      if (configuredUrl !== undefined && !isHttpUrl(configuredUrl)) {
        return yield* new ConfigError({
          setting: "llm.aicore.deployment_url",
          message: `llm.aicore.deployment_url (AICORE_DEPLOYMENT_URL): expected an http(s) URL, got ${JSON.stringify(configuredUrl)}`
        })
      }
      const deploymentUrl = trimUrl(yield* discoverDeployment(key, tokens, resourceGroup, model, configuredUrl, timeoutMs, ctx))
      const invokeUrl = `${deploymentUrl}/invoke`
      const request: RequestOptions = { rationales: settings.llmOptions.rationales, showUpstreamLabels: settings.llmOptions.showUpstreamLabels }
      const system = buildRubricPrompt(settings.agent.rubric, request)
      const prefix = prefixTokens([kpiTool(request)], system)
      yield* Effect.logInfo(
        `analyzer: SAP AI Core, model ${model}, ${deploymentUrl}, resource group ${resourceGroup}, rationales ${request.rationales ? "on" : "off"}`
      )
      // AI Core has no token-counting endpoint: the estimate.
      yield* checkCachePrefix(model, prefix, false, settings.llmOptions.cacheFloors)
      yield* warnIfUnpriced(model, settings.llmOptions.prices)

      const invoke = (token: Redacted.Redacted<string>, body: string): Effect.Effect<HttpAnswer, AnalyzerError> =>
        limiter.withPermit(httpRequest(invokeUrl, {
          method: "POST",
          headers: {
            authorization: `Bearer ${Redacted.value(token)}`,
            "ai-resource-group": resourceGroup,
            "content-type": "application/json",
            accept: "application/json"
          },
          body
        }, timeoutMs, ctx), feedbackOf)

      const analyze = Effect.fn("AiCoreAnalyzer.analyze")(function*(conversation: Conversation) {
        const body = JSON.stringify(toBedrockBody(buildMessagesBody({ model, maxTokens, system, conversation, request })))
        let token = yield* tokens.get
        let answer = yield* invoke(token, body)
        if (answer.status === 401) {
          // The token can be revoked before it expires: fetch a new one and try once more.
          yield* tokens.invalidate(token)
          token = yield* tokens.get
          answer = yield* invoke(token, body)
        }
        if (answer.status < 200 || answer.status >= 300) {
          return yield* classifyStatus(answer.status, answer.headers, answer.body, {
            ...ctx,
            secrets: [...ctx.secrets, Redacted.value(token)]
          })
        }
        return yield* decodeAnalysis(answer.body, model, request.rationales ? conversation : undefined)
      })

      return Analyzer.of({
        provider: "aicore",
        analyze,
        estimateUsage: (conversations, concurrency) => ({
          model,
          usage: estimateRunUsage({ model, system, request, conversations, concurrency })
        })
      })
    })
  )
}
