import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Answer, errorAnswer, toolAnswer, validScores } from "./fakeClaude.ts"

/**
 * A loopback Anthropic Messages API (`POST /v1/messages`) for end-to-end tests of the CLI as a
 * child process: every answer waits `delayMs` (so a batch takes a predictable time) or until
 * `resume()` after a `pause()` (so a process stays busy while a test arranges the next step),
 * answers are scripted per source id (status 200 is a valid forced-tool answer with token usage), and
 * the requests are counted per conversation. Plain `node:http`: no Effect scope needed.
 *
 * The user turn carries no source id of its own; `e2e.ts` seeds conversations whose first
 * message contains `src-<24 hex>`, which is how a request is traced back to its record.
 */

export const SLOW_CLAUDE_MODEL = "claude-sonnet-4-6-e2e"

/** Tokens reported for every successful answer. */
export const USAGE = { input_tokens: 412, output_tokens: 230, cache_creation_input_tokens: 96, cache_read_input_tokens: 2890 } as const

export interface SlowClaude {
  /** `http://127.0.0.1:<port>`: the child's `ANTHROPIC_BASE_URL`. */
  readonly url: string
  /** Milliseconds every answer waits (changeable between runs). */
  delayMs: number
  /** HTTP status answered when `statusFor` says nothing for a source id (200: a valid answer). */
  defaultStatus: number
  /** Per source id status; remove an entry to answer `defaultStatus` again. */
  readonly statusFor: Map<string, number>
  /** Requests seen per source id (requests without a `src-` marker count under ""). */
  readonly counts: ReadonlyMap<string, number>
  /** Every request seen, answered or not. */
  readonly total: () => number
  /** Successful (200) answers sent. */
  readonly answered: () => number
  /** The x-api-key / bearer credentials of the requests seen (to check what was sent). */
  readonly keys: ReadonlySet<string>
  /** Holds every answer (requests still arrive and are counted) until `resume()`. */
  readonly pause: () => void
  /** Sends the held answers, each after `delayMs`, and answers new requests again. */
  readonly resume: () => void
  readonly close: () => Promise<void>
}

const SOURCE_MARKER = /src-([0-9a-f]{24})/

/** The source id named in a Messages request's user turn, or "". */
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

const errorFor = (status: number) => {
  switch (status) {
    case 400:
      return errorAnswer(400, "invalid_request_error", "messages.0.content: conversation rejected by slowClaude")
    case 401:
      return errorAnswer(401, "authentication_error", "invalid x-api-key")
    case 429:
      return errorAnswer(429, "rate_limit_error", "slow down", { "retry-after": "0" })
    case 529:
      return errorAnswer(529, "overloaded_error", "Overloaded")
    default:
      return errorAnswer(status, "api_error", `slowClaude answered ${status}`)
  }
}

export const startSlowClaude = (options: {
  readonly delayMs?: number
  readonly defaultStatus?: number
  readonly model?: string
} = {}): Promise<SlowClaude> =>
  new Promise((resolve, reject) => {
    const counts = new Map<string, number>()
    const keys = new Set<string>()
    const statusFor = new Map<string, number>()
    const timers = new Set<NodeJS.Timeout>()
    let held: Array<() => void> = []
    let paused = false
    let total = 0
    let answered = 0
    const model = options.model ?? SLOW_CLAUDE_MODEL

    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const pathname = new URL(req.url ?? "/", "http://localhost").pathname
        if (req.method !== "POST" || !pathname.endsWith("/v1/messages")) {
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: `no route ${req.method} ${pathname}` } }))
          return
        }
        let body: unknown
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
        } catch {
          body = undefined
        }
        total++
        const id = sourceIdOf(body)
        counts.set(id, (counts.get(id) ?? 0) + 1)
        const key = req.headers["x-api-key"]
        if (typeof key === "string") keys.add(key)
        const status = statusFor.get(id) ?? fake.defaultStatus
        const reply: Answer = status === 200 ? toolAnswer(validScores, { model, usage: { ...USAGE } }) : errorFor(status)
        const requestId = `req_slow_${total}`
        const schedule = () => {
          const timer = setTimeout(() => {
            timers.delete(timer)
            // the client gave up (or was killed) while the answer waited
            if (res.destroyed) return
            if (status === 200) answered++
            res.writeHead(reply.status, { "content-type": "application/json", "request-id": requestId, ...reply.headers })
            res.end(JSON.stringify(reply.body))
          }, fake.delayMs)
          timers.add(timer)
        }
        if (paused) held.push(schedule)
        else schedule()
      })
    })

    let fake: SlowClaude

    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      fake = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        delayMs: options.delayMs ?? 0,
        defaultStatus: options.defaultStatus ?? 200,
        statusFor,
        counts,
        total: () => total,
        answered: () => answered,
        keys,
        pause: () => {
          paused = true
        },
        resume: () => {
          paused = false
          const waiting = held
          held = []
          for (const schedule of waiting) schedule()
        },
        close: () =>
          new Promise<void>((done) => {
            for (const t of timers) clearTimeout(t)
            server.closeAllConnections()
            server.close(() => done())
          })
      }
      resolve(fake)
    })
  })
