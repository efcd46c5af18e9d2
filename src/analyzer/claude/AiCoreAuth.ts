import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Effect, Option, Predicate, Redacted, Semaphore } from "effect"
import YAML from "yaml"
import { AnalyzerError } from "../../domain/Errors.ts"
import { isHttpUrl, scrub } from "../../domain/Text.ts"
import { serviceKeyConfig } from "./Credentials.ts"
import { type ClassifyContext, classifyStatus, providerMessage, transportError } from "./Errors.ts"

/** The parts of an SAP AI Core service key the job uses. */
export interface ServiceKey {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** The XSUAA server (`url`); the token endpoint is `<url>/oauth/token`. */
  readonly authUrl: string
  /** `serviceurls.AI_API_URL`. */
  readonly aiApiUrl: string
  /** Where the key came from, for messages: a file path or `AICORE_SERVICE_KEY`. */
  readonly source: string
}

const credentialsError = (message: string) => new AnalyzerError({ reason: "Credentials", message })

const field = (o: Record<string, unknown>, ...names: ReadonlyArray<string>): string | undefined => {
  for (const n of names) {
    const v = o[n]
    if (typeof v === "string" && v.trim() !== "") return v.trim()
  }
  return undefined
}

/** The object holding `clientid`: the key itself, or nested (`credentials:`, `aicore:`, VCAP-style lists). */
const findKeyObject = (node: unknown, depth = 0): Record<string, unknown> | undefined => {
  if (depth > 4) return undefined
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = findKeyObject(n, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!Predicate.isObject(node)) return undefined
  const o = node as Record<string, unknown>
  if (field(o, "clientid", "client_id") !== undefined) return o
  for (const v of Object.values(o)) {
    const found = findKeyObject(v, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/** Reads a service key from parsed YAML/JSON; the error names what is missing, never a value. */
export const parseServiceKey = (doc: unknown, source: string): ServiceKey | AnalyzerError => {
  const o = findKeyObject(doc)
  if (o === undefined) return credentialsError(`SAP AI Core service key (${source}) has no clientid`)
  const serviceurls = Predicate.isObject(o.serviceurls) ? o.serviceurls as Record<string, unknown> : {}
  const clientId = field(o, "clientid", "client_id")!
  const clientSecret = field(o, "clientsecret", "client_secret")
  const authUrl = field(o, "url", "auth_url")
  const aiApiUrl = field(serviceurls, "AI_API_URL") ?? field(o, "ai_api_url", "AI_API_URL")
  const missing = [
    clientSecret === undefined ? "clientsecret" : undefined,
    authUrl === undefined ? "url" : undefined,
    aiApiUrl === undefined ? "serviceurls.AI_API_URL" : undefined
  ].filter((m) => m !== undefined)
  if (missing.length > 0) return credentialsError(`SAP AI Core service key (${source}) lacks ${missing.join(", ")}`)
  for (const [name, value] of [["url", authUrl!], ["serviceurls.AI_API_URL", aiApiUrl!]] as const) {
    if (!isHttpUrl(value)) return credentialsError(`SAP AI Core service key (${source}): ${name} is not an http(s) URL`)
  }
  if (!/^[\x21-\x7e]+$/.test(clientSecret!)) {
    return credentialsError(`SAP AI Core service key (${source}): clientsecret contains spaces or non-ASCII characters`)
  }
  return {
    clientId,
    clientSecret: Redacted.make(clientSecret!),
    authUrl: authUrl!.replace(/\/+$/, ""),
    aiApiUrl: aiApiUrl!.replace(/\/+$/, ""),
    source
  }
}

const parseText = (text: string, source: string): unknown | AnalyzerError => {
  try {
    return YAML.parse(text)
  } catch {
    // The parser's message may quote the text it choked on, secret included.
    return credentialsError(`SAP AI Core service key (${source}) is neither YAML nor JSON`)
  }
}

/**
 * The service key: `AICORE_SERVICE_KEY` (its JSON) when set, else the YAML/JSON file at
 * `credentialsFile` (`llm.aicore.credentials_file`). Missing or unusable → fatal `Credentials`.
 */
export const loadServiceKey = (credentialsFile: string): Effect.Effect<ServiceKey, AnalyzerError> =>
  Effect.gen(function*() {
    const fromEnv = yield* serviceKeyConfig.pipe(Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>()))
    const [text, source] = Option.isSome(fromEnv)
      ? [Redacted.value(fromEnv.value), "AICORE_SERVICE_KEY"]
      : [yield* readFile(credentialsFile), credentialsFile]
    const doc = parseText(text, source)
    if (doc instanceof AnalyzerError) return yield* doc
    const key = parseServiceKey(doc, source)
    if (key instanceof AnalyzerError) return yield* key
    return key
  })

const readFile = (file: string): Effect.Effect<string, AnalyzerError> =>
  Effect.try({
    try: () => fs.readFileSync(path.resolve(file), "utf8"),
    catch: (e) =>
      credentialsError(
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? `no SAP AI Core service key: ${file} does not exist and AICORE_SERVICE_KEY is not set`
          : `cannot read the SAP AI Core service key ${file}: ${(e as NodeJS.ErrnoException).code ?? "read error"}`
      )
  })

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  /** Parsed JSON, else the text; undefined when empty. */
  readonly body: unknown
}

/**
 * One HTTP exchange with a real timeout (`AbortSignal.timeout`, like the SDK's), aborted too
 * when the fiber is interrupted. No answer → `Timeout` or `Connection` (retriable).
 */
export const httpRequest = (
  url: string,
  init: RequestInit,
  timeoutMs: number,
  ctx: ClassifyContext
): Effect.Effect<HttpAnswer, AnalyzerError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
      const text = await response.text()
      let body: unknown = text === "" ? undefined : text
      try {
        if (text !== "") body = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body }
    },
    catch: (e) => {
      if (Predicate.isObject(e) && (e as { name?: unknown }).name === "TimeoutError") return transportError("Timeout", "", ctx)
      const cause = (e as { cause?: { code?: unknown } }).cause
      return transportError("Connection", typeof cause?.code === "string" ? cause.code : "", ctx)
    }
  })

// ---------------------------------------------------------------------------------------------
// Token

/** Refresh this long before expiry: 5 minutes, or a tenth of a short lifetime. */
const refreshMargin = (lifetimeMs: number): number => Math.min(300_000, lifetimeMs / 10)

export interface TokenSource {
  /** A valid bearer token: the cached one, or a new one when it is (nearly) expired. */
  readonly get: Effect.Effect<Redacted.Redacted<string>, AnalyzerError>
  /** Drops `token` after the server refused it (once: a newer token is kept). */
  readonly invalidate: (token: Redacted.Redacted<string>) => Effect.Effect<void>
}

/**
 * OAuth2 client credentials against the key's XSUAA server, with the client id and secret as
 * form fields (as SAP's own AI API client sends them). Tokens are cached on Effect's `Clock`;
 * concurrent callers share one refresh.
 */
export const makeTokenSource = (key: ServiceKey, timeoutMs: number): Effect.Effect<TokenSource> =>
  Effect.gen(function*() {
    const lock = yield* Semaphore.make(1)
    let cached: { readonly token: Redacted.Redacted<string>; readonly refreshAt: number } | undefined
    const tokenUrl = /\/oauth\/token$/.test(key.authUrl) ? key.authUrl : `${key.authUrl}/oauth/token`
    const secret = Redacted.value(key.clientSecret)
    const ctx: ClassifyContext = { provider: "SAP AI Core auth server", secrets: [secret] }

    const fetchToken = Effect.gen(function*() {
      const answer = yield* httpRequest(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: key.clientId, client_secret: secret }).toString()
      }, timeoutMs, ctx)
      const b = Predicate.isObject(answer.body) ? answer.body as Record<string, unknown> : {}
      if (answer.status >= 200 && answer.status < 300 && typeof b.access_token === "string" && b.access_token !== "") {
        const now = yield* Clock.currentTimeMillis
        const lifetimeMs = (typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : 3600) * 1000
        const token = Redacted.make(b.access_token)
        cached = { token, refreshAt: now + lifetimeMs - refreshMargin(lifetimeMs) }
        return token
      }
      if (answer.status >= 200 && answer.status < 300) {
        return yield* credentialsError(`SAP AI Core auth server answered ${answer.status} without an access_token`)
      }
      if (answer.status === 408 || answer.status === 429 || answer.status >= 500) {
        return yield* classifyStatus(answer.status, answer.headers, answer.body, ctx)
      }
      const { message } = providerMessage(answer.body)
      return yield* credentialsError(scrub(
        `SAP AI Core auth server refused the client credentials of ${key.source} (${answer.status})${message !== undefined ? `: ${message}` : ""}`,
        [secret]
      ))
    })

    const get = lock.withPermit(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (cached !== undefined && now < cached.refreshAt) return cached.token
      return yield* fetchToken
    }))

    const invalidate = (token: Redacted.Redacted<string>) =>
      lock.withPermit(Effect.sync(() => {
        if (cached !== undefined && Redacted.value(cached.token) === Redacted.value(token)) cached = undefined
      }))

    return { get, invalidate }
  })
