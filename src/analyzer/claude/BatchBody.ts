/**
 * A Message Batches request serialized in pieces: strings, and the UTF-8 bytes of the part every
 * request of the run shares (model, max_tokens, the rubric as system prompt, the tool: ~27 KB of
 * the ~30 KB), serialized once and sent as the same bytes each time.
 */
export interface EncodedRequest {
  readonly pieces: ReadonlyArray<string | Uint8Array>
  /** UTF-8 bytes of the pieces together. */
  readonly bytes: number
}

const HEAD = "{\"requests\":["
const TAIL = "]}"
/** Strings are sent once this many characters have gathered (or before shared bytes). */
const CHUNK_CHARS = 16_384

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/**
 * JSON-equal, checking identity first (the shared parts are the same objects and strings), and
 * leaving out the top-level key `skip`. Runs for every request: it allocates nothing.
 */
const sameJson = (a: unknown, b: unknown, skip?: string): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b) || !isPlain(a) || !isPlain(b)) return false
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let keys = 0
  for (const k in x) {
    if (k === skip) continue
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false
    keys++
  }
  for (const k in y) if (k !== skip) keys--
  return keys === 0
}

const MESSAGES_KEY = "\"messages\":"

/**
 * Serializes `{ custom_id, params }` as `{"custom_id":…,"params":{<shared>,"messages":…}}`.
 * The first request's params without `messages` become the shared part; a later request whose
 * params differ from it there is serialized whole (same JSON, no sharing).
 */
export const makeRequestEncoder = () => {
  let shared: { readonly rest: Record<string, unknown>; readonly bytes: Uint8Array; readonly key: string } | undefined
  return (customId: string, params: { readonly messages: unknown }): EncodedRequest => {
    if (shared === undefined) {
      const { messages: _, ...rest } = params
      const inner = JSON.stringify(rest).slice(1, -1)
      shared = { rest, bytes: new TextEncoder().encode(inner), key: inner === "" ? MESSAGES_KEY : `,${MESSAGES_KEY}` }
    }
    if (!sameJson(params, shared.rest, "messages")) {
      const whole = JSON.stringify({ custom_id: customId, params })
      return { pieces: [whole], bytes: Buffer.byteLength(whole) }
    }
    const head = `{"custom_id":${JSON.stringify(customId)},"params":{`
    const messages = JSON.stringify(params.messages)
    return {
      pieces: [head, shared.bytes, shared.key, messages, "}}"],
      bytes: Buffer.byteLength(head) + shared.bytes.length + shared.key.length + Buffer.byteLength(messages) + 2
    }
  }
}

/**
 * The body of `POST /v1/messages/batches`, `{"requests":[...]}`, streamed a piece at a time as
 * the connection takes it. Handed to the SDK whole, a 32 MB API batch sat in memory as one string
 * and again as one buffer, and with each request serialized twice more (its size, its upload)
 * the garbage of consecutive uploads piled up: peak RSS grew with the number of API batches.
 * The length is known up front, so the upload still carries a `content-length`; pieces whose
 * bytes differ from it fail the stream rather than send a body that does not match.
 */
export const batchBody = (requests: ReadonlyArray<EncodedRequest>): { readonly length: number; readonly stream: ReadableStream<Uint8Array> } => {
  const length = HEAD.length + TAIL.length + Math.max(0, requests.length - 1) + requests.reduce((n, r) => n + r.bytes, 0)
  const encoder = new TextEncoder()
  // The pieces in order (the head, each request's pieces, a comma between two requests, the
  // tail), consecutive strings encoded together: about one chunk per request plus the shared bytes.
  function* chunks(): Generator<Uint8Array> {
    let text = HEAD
    for (let i = 0; i < requests.length; i++) {
      if (i > 0) text += ","
      for (const piece of requests[i]!.pieces) {
        if (typeof piece === "string") {
          text += piece
          if (text.length < CHUNK_CHARS) continue
          yield encoder.encode(text)
        } else {
          if (text !== "") yield encoder.encode(text)
          yield piece
        }
        text = ""
      }
    }
    yield encoder.encode(text + TAIL)
  }
  const iterator = chunks()
  let sent = 0
  const stream = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      const next = iterator.next()
      if (next.done === true) {
        if (sent !== length) controller.error(new Error(`Message Batches upload: ${sent} bytes serialized, ${length} announced`))
        else controller.close()
        return
      }
      sent += next.value.length
      controller.enqueue(next.value)
    }
  }, { highWaterMark: 0 })
  return { length, stream }
}
