import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { validInput } from "./claudeFixtures.ts"

/**
 * A loopback HTTP server that speaks both Claude protocols: the Anthropic Messages API
 * (`POST /v1/messages`) and SAP AI Core (`POST /oauth/token`, `GET /v2/lm/deployments`,
 * `POST /v2/inference/deployments/{id}/invoke`). It records every request and answers each from
 * the route's script (replies the test queues, answered in order) or else the route's default:
 * a fresh token, a list with a RUNNING deployment of `AICORE_MODEL`, and on the two model routes
 * a valid forced-tool answer with `USAGE`, or the error of the status that `statusFor` (by source
 * id) or `defaultStatus` names. Every answer waits `delayMs`, and is held while `pause()`d.
 *
 * `startLoopbackClaude` is a plain promise API (CLI tests, `beforeAll`); `loopbackClaude` is the
 * same server for the scope of an `it.effect` test.
 *
 * Where the next behaviours go: more endpoints (the Message Batches API) are rows of `ROUTES`
 * with a default in `startLoopbackClaude`; whatever decides a model answer from the request
 * belongs in `modelReply`. Issue 15 added, each in its own section: `models.retrieve` and
 * `count_tokens` routes, `unknownModels` (404 on both), `maxTokensAnswer`/`refusalAnswer`, a
 * simulated token-bucket limit (`rateLimit`: 429 with `retry-after` when empty, and the
 * `anthropic-ratelimit-requests-*` headers on every model answer) and a simulated prompt
 * cache (`simulateCache`).
 */

export type Route = "messages" | "token" | "deployments" | "invoke" | "models" | "count_tokens" | BatchRoute
export type BatchRoute = "batches-create" | "batches-list" | "batches-retrieve" | "batches-cancel" | "batches-results"

const ROUTES: ReadonlyArray<{ readonly route: Route; readonly method: string; readonly path: RegExp }> = [
  { route: "messages", method: "POST", path: /\/v1\/messages$/ },
  { route: "count_tokens", method: "POST", path: /\/v1\/messages\/count_tokens$/ },
  { route: "models", method: "GET", path: /\/v1\/models\/[^/]+$/ },
  { route: "batches-create", method: "POST", path: /\/v1\/messages\/batches$/ },
  { route: "batches-list", method: "GET", path: /\/v1\/messages\/batches$/ },
  { route: "batches-retrieve", method: "GET", path: /\/v1\/messages\/batches\/[^/]+$/ },
  { route: "batches-cancel", method: "POST", path: /\/v1\/messages\/batches\/[^/]+\/cancel$/ },
  { route: "batches-results", method: "GET", path: /\/v1\/messages\/batches\/[^/]+\/results$/ },
  { route: "token", method: "POST", path: /\/oauth\/token$/ },
  { route: "deployments", method: "GET", path: /\/v2\/lm\/deployments$/ },
  { route: "invoke", method: "POST", path: /\/v2\/inference\/deployments\/[^/]+\/invoke$/ }
]

/** The start-up checks of issue 15 (model exists, prefix size): answered even while `pause()`d. */
const STARTUP_ROUTES: ReadonlySet<Route> = new Set(["models", "count_tokens"])

/** The routes that ask Claude for an analysis: counted, keyed and answered by source id. */
const MODEL_ROUTES: ReadonlySet<Route | "unknown"> = new Set(["messages", "invoke"])

export interface RecordedRequest {
  readonly route: Route | "unknown"
  readonly method: string
  /** Path and query. */
  readonly path: string
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON, form fields as a record, else the text. */
  readonly body: any
  readonly rawBody: string
  /** The `src-<24 hex>` marker of a model request's user turn (see `sourceIdOf`), else "". */
  readonly sourceId: string
}

export interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export type Reply =
  | Answer
  /** Accept the request and never answer (for timeouts). */
  | { readonly hang: true }

/** What a route answers once its script is empty: a reply, or one made from the request. */
export type DefaultReply = Reply | ((request: RecordedRequest) => Reply)

export interface LoopbackClaudeOptions {
  /** Milliseconds every answer waits (default 0). */
  readonly delayMs?: number
  /** Status of an unscripted model answer where `statusFor` says nothing (default 200: valid). */
  readonly defaultStatus?: number
  /** The model a default valid answer names (default `LOOPBACK_MODEL`). */
  readonly model?: string
  /** Keep each batch request's `params` and every request's body (default true; false for 100,000-request benches). */
  readonly keepBodies?: boolean
  /** A simulated account limit on the model routes (see "Rate limits" below). */
  readonly rateLimit?: SimulatedLimit
  /**
   * Simulate the prompt cache in the default valid answer's usage: a request that arrives before
   * an earlier one with the same prefix has been answered writes the cache, later ones read it.
   */
  readonly simulateCache?: boolean
}

export interface LoopbackClaude {
  /** `http://127.0.0.1:<port>`: `ANTHROPIC_BASE_URL`, and the key's `url` and `AI_API_URL`. */
  readonly url: string

  /** Every request, in arrival order, answered or not. */
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly requestsTo: (route: Route) => ReadonlyArray<RecordedRequest>
  /** Model requests seen per source id (those without a `src-` marker count under ""). */
  readonly counts: ReadonlyMap<string, number>
  /** Model requests seen, answered or not. */
  readonly total: () => number
  /** Model answers with status 200 sent (not those whose client had gone). */
  readonly answered: () => number
  /** The `x-api-key` values of the requests seen (to check what was sent). */
  readonly keys: ReadonlySet<string>

  /** Queues replies for a route, answered in order before its default. */
  readonly script: (route: Route, ...replies: ReadonlyArray<Reply>) => void
  /** Replaces the reply of a route whose script is empty. */
  readonly setDefault: (route: Route, reply: DefaultReply) => void
  /** The default model answer's status where `statusFor` says nothing (changeable between runs). */
  defaultStatus: number
  /** Default model answer's status per source id; remove an entry to answer `defaultStatus`. */
  readonly statusFor: Map<string, number>

  /** Milliseconds every answer waits (changeable between runs). */
  delayMs: number
  /** Holds every answer but the start-up checks' (requests still arrive and are recorded) until `resume()`. */
  readonly pause: () => void
  /** Sends the held answers, each after `delayMs`, and answers new requests again. */
  readonly resume: () => void
  /** Stops the server, cutting waiting and hanging requests. */
  readonly close: () => Promise<void>

  /** Model ids the models endpoint and the model routes answer 404 for (retired or mistyped). */
  readonly unknownModels: Set<string>
  /** Model requests the simulated limit answered 429, with the times (ms) of every model request. */
  readonly limited: () => {
    readonly rejected: number
    readonly arrivals: ReadonlyArray<number>
    readonly accepted: ReadonlyArray<number>
    /** When the bucket's first burst was spent (below a fifth of its size), if it was. */
    readonly drainedAt: number | undefined
  }
  /** Answers that wrote the simulated cache (`simulateCache`). */
  readonly cacheWrites: () => number
  /** The Message Batches API (see "Message Batches" below). */
  readonly batches: LoopbackBatches
}

/** One batch the loopback Message Batches API holds. */
export interface LoopbackBatch {
  readonly id: string
  readonly createdAtMs: number
  readonly customIds: ReadonlyArray<string>
  readonly params: ReadonlyArray<unknown>
  /** Set by `cancel` while the batch was processing: every request ends canceled. */
  canceled: boolean
}

/** A request's outcome in a batch: its result type, or `errored` with an API error type. */
export type BatchOutcome = "succeeded" | "canceled" | "expired" | { readonly errored: string }

export interface LoopbackBatches {
  /** Every batch created, in order. */
  readonly all: ReadonlyArray<LoopbackBatch>
  /** The batches' clock (ms since the epoch): batches are created at `now`, end once `now >= created + endAfterMs`. */
  now: number
  /** How long a batch processes on the batches' clock (default 0: ended at the first retrieve). */
  endAfterMs: number
  /** Outcome per custom id (source id); unset ones succeed. */
  readonly outcomeFor: Map<string, BatchOutcome>
  /** When set, the results stream is cut after this many lines (the socket is destroyed). */
  cutResultsAfter: number | undefined
  /** Requests submitted per custom id, across every batch. */
  readonly submissions: () => ReadonlyMap<string, number>
}

export const LOOPBACK_MODEL = "claude-sonnet-4-6-e2e"
export const AICORE_MODEL = "anthropic--claude-4.6-sonnet"
export const DEPLOYMENT_ID = "d0123456789abcdef"

/** Tokens reported by every default valid answer. */
export const USAGE = { input_tokens: 412, output_tokens: 230, cache_creation_input_tokens: 96, cache_read_input_tokens: 2890 } as const

// ---------------------------------------------------------------------------------------------
// Answers

/** A Messages API answer whose only content block is the `record_kpi_scores` call. */
export const toolAnswer = (input: unknown, options: {
  readonly model?: string | undefined
  readonly usage?: Record<string, number | null>
  readonly name?: string
} = {}) => ({
  status: 200,
  body: {
    id: "msg_01fake",
    type: "message",
    role: "assistant",
    ...(options.model !== undefined ? { model: options.model } : {}),
    content: [{ type: "tool_use", id: "toolu_01fake", name: options.name ?? "record_kpi_scores", input }],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: options.usage ?? { input_tokens: 412, output_tokens: 230, cache_creation_input_tokens: 0, cache_read_input_tokens: 2890 }
  }
})

/** An answer cut at `max_tokens` in the middle of the tool call. */
export const maxTokensAnswer = (): Answer => ({
  status: 200,
  body: {
    id: "msg_01cut",
    type: "message",
    role: "assistant",
    content: [{ type: "tool_use", id: "toolu_01cut", name: "record_kpi_scores", input: {} }],
    stop_reason: "max_tokens",
    usage: { input_tokens: 412, output_tokens: 2048, cache_creation_input_tokens: 0, cache_read_input_tokens: 2890 }
  }
})

/** A refusal: the model declined, no tool call. */
export const refusalAnswer = (): Answer => ({
  status: 200,
  body: {
    id: "msg_01refusal",
    type: "message",
    role: "assistant",
    content: [{ type: "text", text: "I can't help with that." }],
    stop_reason: "refusal",
    usage: { input_tokens: 412, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 2890 }
  }
})

/** An Anthropic-style error answer. */
export const errorAnswer = (status: number, type: string, message: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { type: "error", error: { type, message }, request_id: "req_fake" },
  ...(headers !== undefined ? { headers } : {})
})

/** The error a default model answer with this status is. */
const errorFor = (status: number): Answer => {
  switch (status) {
    case 400:
      return errorAnswer(400, "invalid_request_error", "messages.0.content: conversation rejected by loopbackClaude")
    case 401:
      return errorAnswer(401, "authentication_error", "invalid x-api-key")
    case 429:
      return errorAnswer(429, "rate_limit_error", "slow down", { "retry-after": "0" })
    case 529:
      return errorAnswer(529, "overloaded_error", "Overloaded")
    default:
      return errorAnswer(status, "api_error", `loopbackClaude answered ${status} (no reply scripted)`)
  }
}

/** A deployment as `GET /v2/lm/deployments` lists it (SAP spells the key `backend_details`). */
export const deployment = (url: string, id: string, model: string, status = "RUNNING") => ({
  id,
  deploymentUrl: `${url}/v2/inference/deployments/${id}`,
  configurationName: `${model}-config`,
  scenarioId: "foundation-models",
  status,
  targetStatus: status,
  details: { resources: { backend_details: { model: { name: model, version: "1" } } }, scaling: {} }
})

// ---------------------------------------------------------------------------------------------
// Requests

const SOURCE_MARKER = /src-([0-9a-f]{24})/

/**
 * The source id named in a Messages (or AI Core invoke) body's user turn, or "". The prompt
 * carries no id of its own; `e2e.ts` seeds conversations whose first message contains
 * `src-<24 hex>`, which is how a request is traced back to its record.
 */
export const sourceIdOf = (body: unknown): string => {
  const messages = (body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages
  const content = messages?.[0]?.content
  const text = typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((c) => (typeof c?.text === "string" ? c.text : "")).join("\n")
    : ""
  return SOURCE_MARKER.exec(text)?.[1] ?? ""
}

const parseBody = (raw: string, contentType: string | undefined): unknown => {
  if (raw === "") return undefined
  if (contentType?.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(raw))
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

const recordOf = (req: http.IncomingMessage, rawBody: string): RecordedRequest => {
  const method = req.method ?? "GET"
  const pathname = new URL(req.url ?? "/", "http://localhost").pathname
  const route = ROUTES.find((r) => r.method === method && r.path.test(pathname))?.route ?? "unknown"
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v
  const body = parseBody(rawBody, headers["content-type"])
  return { route, method, path: req.url ?? "", headers, body, rawBody, sourceId: MODEL_ROUTES.has(route) ? sourceIdOf(body) : "" }
}

const send = (res: http.ServerResponse, answer: Answer, requestId: string): void => {
  const text = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body)
  res.writeHead(answer.status, { "content-type": "application/json", "request-id": requestId, ...answer.headers })
  res.end(text)
}

// ---------------------------------------------------------------------------------------------
// Rate limits (issue 15): a token bucket like Anthropic's, and the headers it announces

export interface SimulatedLimit {
  /** Bucket size and refill per minute (Anthropic's limits are token buckets of this size). */
  readonly requestsPerMinute: number
  /** Send `anthropic-ratelimit-requests-*` on every model answer (default true; false: like AI Core). */
  readonly headers?: boolean
  /** Milliseconds in the server's minute (default 60,000; smaller scales time for a short bench). */
  readonly minuteMs?: number
}

/**
 * A token bucket on the model routes, on the real clock: full at start, refilled continuously;
 * a request that finds it empty is answered 429 at once with `retry-after` (and `-ms`).
 */
const makeBucket = (limit: SimulatedLimit) => {
  const minute = limit.minuteMs ?? 60_000
  const perMs = limit.requestsPerMinute / minute
  let tokens = limit.requestsPerMinute
  let at = Date.now()
  let rejected = 0
  let drainedAt: number | undefined
  const arrivals: Array<number> = []
  const accepted: Array<number> = []
  const refill = (now: number) => {
    tokens = Math.min(limit.requestsPerMinute, tokens + (now - at) * perMs)
    at = now
  }
  const headers = (now: number): Record<string, string> =>
    limit.headers === false ? {} : {
      "anthropic-ratelimit-requests-limit": String(Math.round(limit.requestsPerMinute * 60_000 / minute)),
      "anthropic-ratelimit-requests-remaining": String(Math.floor(tokens)),
      "anthropic-ratelimit-requests-reset": new Date(now + (limit.requestsPerMinute - tokens) / perMs).toISOString()
    }
  return {
    /** undefined: the request may go on (its answer carries `headers`); else the 429 to send. */
    take: (): { readonly reject?: Answer; readonly headers: Record<string, string> } => {
      const now = Date.now()
      refill(now)
      arrivals.push(now)
      if (tokens >= 1) {
        tokens -= 1
        if (drainedAt === undefined && tokens < limit.requestsPerMinute / 5) drainedAt = now
        accepted.push(now)
        return { headers: headers(now) }
      }
      rejected++
      const waitMs = Math.ceil((1 - tokens) / perMs)
      return {
        headers: {},
        reject: errorAnswer(429, "rate_limit_error", "Number of requests has exceeded your rate limit", {
          ...headers(now),
          "retry-after": String(Math.ceil(waitMs / 1000)),
          "retry-after-ms": String(waitMs)
        })
      }
    },
    stats: () => ({ rejected, arrivals, accepted, drainedAt })
  }
}

/** Adds headers to an answer (the simulated limit's, on every model answer). */
const withHeaders = (reply: Reply, headers: Record<string, string>): Reply =>
  "hang" in reply || Object.keys(headers).length === 0 ? reply : { ...reply, headers: { ...headers, ...reply.headers } }

/**
 * The prompt cache as the usage of a default answer shows it: the prefix (tools + system) is
 * readable once the first request that wrote it has been answered; until then every request
 * writes it again (which is why the client sends one request alone on a cold cache).
 */
const makeCache = () => {
  const readyAt = new Map<string, number>()
  let writes = 0
  return {
    usage: (request: RecordedRequest, delayMs: number) => {
      const body = request.body as { tools?: unknown; system?: unknown; messages?: unknown } | undefined
      const key = JSON.stringify([body?.tools, body?.system])
      const prefix = Math.ceil(key.length / 4)
      const input = Math.ceil(JSON.stringify(body?.messages ?? "").length / 4)
      const now = Date.now()
      const ready = readyAt.get(key)
      if (ready !== undefined && ready <= now) return { input_tokens: input, output_tokens: 230, cache_creation_input_tokens: 0, cache_read_input_tokens: prefix }
      writes++
      readyAt.set(key, Math.min(ready ?? Infinity, now + delayMs))
      return { input_tokens: input, output_tokens: 230, cache_creation_input_tokens: prefix, cache_read_input_tokens: 0 }
    },
    writes: () => writes
  }
}

/** 404 for a model the server does not know, as the Messages API and `models.retrieve` answer it. */
const unknownModelAnswer = (id: string): Answer => errorAnswer(404, "not_found_error", `model: ${id}`)

// ---------------------------------------------------------------------------------------------
// The server

export const startLoopbackClaude = (options: LoopbackClaudeOptions = {}): Promise<LoopbackClaude> =>
  new Promise((resolve, reject) => {
    const requests: Array<RecordedRequest> = []
    const queues = new Map<Route, Array<Reply>>()
    const counts = new Map<string, number>()
    const keys = new Set<string>()
    const statusFor = new Map<string, number>()
    const timers = new Set<NodeJS.Timeout>()
    let held: Array<() => void> = []
    let paused = false
    let total = 0
    let answered = 0
    let tokens = 0
    const model = options.model ?? LOOPBACK_MODEL
    const unknownModels = new Set<string>()
    const bucket = options.rateLimit !== undefined ? makeBucket(options.rateLimit) : undefined
    const cache = options.simulateCache === true ? makeCache() : undefined

    /** The default answer of a model route. */
    const modelReply = (request: RecordedRequest): Reply => {
      const status = statusFor.get(request.sourceId) ?? loopback.defaultStatus
      if (status !== 200) return errorFor(status)
      return toolAnswer(validInput, { model, usage: cache !== undefined ? cache.usage(request, loopback.delayMs) : { ...USAGE } })
    }
    // -------------------------------------------------------------------------------------------
    // Message Batches: create, list (newest first, `after_id`/`limit` paging), retrieve, cancel,
    // results as JSON lines. State and clock in `batches`; answers built from them.
    const batchList: Array<LoopbackBatch> = []
    const batches: LoopbackBatches = {
      all: batchList,
      now: Date.now(),
      endAfterMs: 0,
      outcomeFor: new Map(),
      cutResultsAfter: undefined,
      submissions: () => {
        const m = new Map<string, number>()
        for (const b of batchList) for (const id of b.customIds) m.set(id, (m.get(id) ?? 0) + 1)
        return m
      }
    }
    const batchId = (request: RecordedRequest) => /\/v1\/messages\/batches\/([^/?]+)/.exec(request.path)?.[1] ?? ""
    const ended = (b: LoopbackBatch) => b.canceled || batches.now >= b.createdAtMs + batches.endAfterMs
    const outcomeOf = (b: LoopbackBatch, id: string): BatchOutcome => {
      const o = batches.outcomeFor.get(id) ?? "succeeded"
      return b.canceled ? "canceled" : o
    }
    const batchJson = (b: LoopbackBatch) => {
      const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 }
      if (!ended(b)) counts.processing = b.customIds.length
      else {
        for (const id of b.customIds) {
          const o = outcomeOf(b, id)
          if (typeof o === "object") counts.errored++
          else counts[o]++
        }
      }
      return {
        id: b.id,
        type: "message_batch",
        processing_status: ended(b) ? "ended" : b.canceled ? "canceling" : "in_progress",
        request_counts: counts,
        created_at: new Date(b.createdAtMs).toISOString(),
        ended_at: ended(b) ? new Date(Math.max(batches.now, b.createdAtMs)).toISOString() : null,
        expires_at: new Date(b.createdAtMs + 24 * 3600_000).toISOString(),
        archived_at: null,
        cancel_initiated_at: b.canceled ? new Date(batches.now).toISOString() : null,
        results_url: ended(b) ? `${loopback.url}/v1/messages/batches/${b.id}/results` : null
      }
    }
    const findBatch = (request: RecordedRequest): LoopbackBatch | Answer =>
      batchList.find((b) => b.id === batchId(request)) ?? errorAnswer(404, "not_found_error", `no batch ${batchId(request)}`)
    const resultLine = (b: LoopbackBatch, id: string): string => {
      const o = outcomeOf(b, id)
      const result = o === "succeeded"
        ? { type: "succeeded", message: { ...toolAnswer(validInput, { model, usage: { ...USAGE } }).body, id: `msg_${id}` } }
        : typeof o === "object"
        ? { type: "errored", error: { type: "error", error: { type: o.errored, message: `loopback ${o.errored}` }, request_id: null } }
        : { type: o }
      return JSON.stringify({ custom_id: id, result })
    }
    const batchDefaults: ReadonlyArray<readonly [Route, DefaultReply]> = [
      ["batches-create", (request) => {
        const requests = (request.body?.requests ?? []) as Array<{ custom_id: string; params: unknown }>
        const b: LoopbackBatch = {
          id: `msgbatch_loopback_${batchList.length + 1}`,
          createdAtMs: batches.now,
          customIds: requests.map((r) => r.custom_id),
          params: options.keepBodies === false ? [] : requests.map((r) => r.params),
          canceled: false
        }
        batchList.push(b)
        return { status: 200, body: batchJson(b) }
      }],
      ["batches-list", (request) => {
        const q = new URL(request.path, "http://x").searchParams
        const newestFirst = [...batchList].reverse()
        const afterId = q.get("after_id")
        const start = afterId === null ? 0 : newestFirst.findIndex((b) => b.id === afterId) + 1
        const page = newestFirst.slice(start, start + Number(q.get("limit") ?? 20))
        return {
          status: 200,
          body: { data: page.map(batchJson), has_more: start + page.length < newestFirst.length, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null }
        }
      }],
      ["batches-retrieve", (request) => {
        const b = findBatch(request)
        return "id" in b ? { status: 200, body: batchJson(b) } : b
      }],
      ["batches-cancel", (request) => {
        const b = findBatch(request)
        if (!("id" in b)) return b
        if (!ended(b)) b.canceled = true
        return { status: 200, body: batchJson(b) }
      }],
      ["batches-results", (request) => {
        const b = findBatch(request)
        if (!("id" in b)) return b
        return { status: 200, body: b.customIds.map((id) => resultLine(b, id)).join("\n") + "\n", headers: { "content-type": "application/binary" } }
      }]
    ]

    const defaults = new Map<Route, DefaultReply>([
      ...batchDefaults,
      ["messages", modelReply],
      ["invoke", modelReply],
      ["models", (request) => {
        const id = decodeURIComponent(request.path.split("?")[0]!.split("/").pop() ?? "")
        return unknownModels.has(id)
          ? unknownModelAnswer(id)
          : { status: 200, body: { type: "model", id, display_name: id, created_at: "2026-01-01T00:00:00Z" } }
      }],
      // A rough count (3.5 characters a token) of the whole request: tools, system and messages.
      ["count_tokens", (request) => ({ status: 200, body: { input_tokens: Math.ceil(request.rawBody.length / 3.5) } })],
      ["token", () => ({ status: 200, body: { access_token: `token-${++tokens}`, token_type: "bearer", expires_in: 7199 } })],
      ["deployments", () => ({
        status: 200,
        body: { count: 2, resources: [deployment(loopback.url, "dother", "gpt-4o"), deployment(loopback.url, DEPLOYMENT_ID, AICORE_MODEL)] }
      })]
    ])

    /** Sends after `delayMs`, unless the client gave up (or was killed) while the answer waited. */
    const answerLater = (res: http.ServerResponse, answer: Answer, request: RecordedRequest, requestId: string) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (res.destroyed) return
        if (MODEL_ROUTES.has(request.route) && answer.status === 200) answered++
        if (request.route === "batches-results" && batches.cutResultsAfter !== undefined && typeof answer.body === "string") {
          // Half a file: the lines so far, then the connection dies.
          const lines = answer.body.split("\n").slice(0, batches.cutResultsAfter)
          res.writeHead(200, { "content-type": "application/binary", "content-length": String(answer.body.length) })
          res.write(lines.join("\n") + "\n", () => res.destroy())
          return
        }
        send(res, answer, requestId)
      }, loopback.delayMs)
      timers.add(timer)
    }

    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const full = recordOf(req, Buffer.concat(chunks).toString("utf8"))
        const request = options.keepBodies === false && full.route === "batches-create"
          ? { ...full, body: { requests: (full.body?.requests ?? []).map((r: { custom_id: string }) => ({ custom_id: r.custom_id })) }, rawBody: "" }
          : full
        requests.push(request)
        const requestId = `req_loopback_${requests.length}`
        const { route } = request
        if (route === "unknown") {
          return send(res, errorAnswer(404, "not_found_error", `loopbackClaude: no route ${request.method} ${request.path}`), requestId)
        }
        if (MODEL_ROUTES.has(route)) {
          total++
          counts.set(request.sourceId, (counts.get(request.sourceId) ?? 0) + 1)
        }
        if (request.headers["x-api-key"] !== undefined) keys.add(request.headers["x-api-key"])
        const fallback = defaults.get(route)!
        const gate = MODEL_ROUTES.has(route) ? bucket?.take() : undefined
        const asked = typeof request.body?.model === "string" ? request.body.model as string : undefined
        const reply = gate?.reject ??
          (route === "messages" && asked !== undefined && unknownModels.has(asked) ? unknownModelAnswer(asked) : undefined) ??
          withHeaders(queues.get(route)?.shift() ?? (typeof fallback === "function" ? fallback(request) : fallback), gate?.headers ?? {})
        if ("hang" in reply) return
        const answer = () => answerLater(res, reply, request, requestId)
        if (paused && !STARTUP_ROUTES.has(route)) held.push(answer)
        else answer()
      })
    })

    let loopback: LoopbackClaude

    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      loopback = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        requestsTo: (route) => requests.filter((r) => r.route === route),
        counts,
        total: () => total,
        answered: () => answered,
        keys,
        script: (route, ...replies) => queues.set(route, [...(queues.get(route) ?? []), ...replies]),
        setDefault: (route, reply) => defaults.set(route, reply),
        defaultStatus: options.defaultStatus ?? 200,
        statusFor,
        delayMs: options.delayMs ?? 0,
        pause: () => {
          paused = true
        },
        resume: () => {
          paused = false
          const waiting = held
          held = []
          for (const answer of waiting) answer()
        },
        close: () =>
          new Promise<void>((done) => {
            for (const t of timers) clearTimeout(t)
            server.closeAllConnections()
            server.close(() => done())
          }),
        unknownModels,
        limited: () => bucket?.stats() ?? { rejected: 0, arrivals: [], accepted: [], drainedAt: undefined },
        cacheWrites: () => cache?.writes() ?? 0,
        batches
      }
      resolve(loopback)
    })
  })

/**
 * The server for the scope of an `it.effect` test. These tests script the model replies they
 * expect, so an unscripted one answers 500 (unless `defaultStatus` says otherwise): a request the
 * test did not plan for fails loudly instead of passing with a valid answer.
 */
export const loopbackClaude = (options: LoopbackClaudeOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startLoopbackClaude({ defaultStatus: 500, ...options })),
    (server) => Effect.promise(server.close)
  )
