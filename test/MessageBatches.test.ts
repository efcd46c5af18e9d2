import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { claudeDirect } from "../src/analyzer/claude/AnthropicAnalyzer.ts"
import { batchBody, makeRequestEncoder } from "../src/analyzer/claude/BatchBody.ts"
import { MessageBatches } from "../src/analyzer/claude/MessageBatches.ts"
import { buildMessagesBody } from "../src/analyzer/claude/Request.ts"
import type { Conversation } from "../src/domain/Source.ts"
import { BatchProvider } from "../src/services/BatchProvider.ts"
import { conversation, envLayer, settingsLayer } from "./support/claudeFixtures.ts"
import { loopbackClaude } from "./support/loopbackClaude.ts"

const KEY = "sk-ant-test-0123456789"

/** Three conversations, one with multi-byte text (its UTF-8 length is not its string length). */
const conversations: ReadonlyArray<Conversation> = [
  conversation,
  { ...conversation, sourceId: "66f7c8e123456789abcdef02", messages: [{ ...conversation.messages[0]!, text: "Grüße — my parcel 📦 is lost, <b>help</b> \"now\"" }] },
  { ...conversation, sourceId: "66f7c8e123456789abcdef03" }
]

const text = (stream: ReadableStream<Uint8Array>) => Effect.promise(() => new Response(stream).text())

describe("Message Batches upload", () => {
  it.effect("sends the requests as the SDK would serialize them, streamed with a content-length", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const config = Layer.merge(
        settingsLayer({ llm: "anthropic", model: "claude-sonnet-4-6" }),
        envLayer({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url })
      )
      const provider = yield* Effect.gen(function*() {
        return yield* BatchProvider
      }).pipe(Effect.provide(MessageBatches.layer.pipe(Layer.provide(config))))
      const requests = conversations.map(provider.buildRequest)
      const info = yield* provider.create(requests)

      const [sent] = fake.requestsTo("batches-create")
      assert.strictEqual(info.id, fake.batches.all[0]!.id)
      assert.strictEqual(sent!.headers["x-api-key"], KEY)
      assert.strictEqual(sent!.headers["content-type"], "application/json")
      assert.isUndefined(sent!.headers["transfer-encoding"])
      const length = Buffer.byteLength(sent!.rawBody)
      assert.strictEqual(Number(sent!.headers["content-length"]), length)
      // Each request's measured size adds up to the body: `{"requests":[` + commas + `]}`.
      assert.strictEqual(requests.reduce((n, r) => n + r.bytes, 0) + requests.length - 1 + 15, length)

      const { settings, system, request } = yield* claudeDirect.pipe(Effect.provide(config))
      const expected = {
        requests: conversations.map((c) => ({
          custom_id: c.sourceId,
          params: buildMessagesBody({ model: "claude-sonnet-4-6", maxTokens: settings.llmOptions.maxTokens, system, conversation: c, request, cacheTtl: "1h" })
        }))
      }
      // Byte for byte what `client.messages.batches.create` would have sent.
      assert.strictEqual(sent!.rawBody, JSON.stringify(expected))
    }))

  it.effect("a request whose shared part differs is serialized whole; the body stays valid", () =>
    Effect.gen(function*() {
      const encode = makeRequestEncoder()
      const params = (system: string, text: string) => ({ model: "m", system, messages: [{ role: "user", content: text }] })
      const bodies = [
        { custom_id: "a", params: params("rubric", "first") },
        { custom_id: "b", params: params("another rubric", "second ü") },
        { custom_id: "c", params: params("rubric", "third") }
      ]
      const encoded = bodies.map((b) => encode(b.custom_id, b.params))
      assert.strictEqual(encoded[0]!.pieces.length, 5)
      assert.strictEqual(encoded[1]!.pieces.length, 1)
      assert.strictEqual(encoded[2]!.pieces[1], encoded[0]!.pieces[1], "the shared bytes are the same buffer")
      const body = batchBody(encoded)
      const sent = yield* text(body.stream)
      assert.strictEqual(sent, JSON.stringify({ requests: bodies }))
      assert.strictEqual(Buffer.byteLength(sent), body.length)
      assert.strictEqual((yield* text(batchBody([]).stream)), "{\"requests\":[]}")
    }))

  it.effect("pieces that do not add up to the measured size fail the upload instead of sending a body that does not match it", () =>
    Effect.gen(function*() {
      const request = makeRequestEncoder()("a", { messages: [] })
      const exit = yield* Effect.exit(text(batchBody([{ ...request, bytes: request.bytes + 1 }]).stream))
      assert.isTrue(Exit.isFailure(exit))
    }))
})
