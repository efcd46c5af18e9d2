import * as fs from "node:fs"
import { EJSON, ObjectId } from "bson"
import { ConfigError } from "../../domain/Errors.ts"
import type { SourceRecord } from "../../domain/Source.ts"

/** `_id` as the domain carries it: ObjectIds as 24-char lowercase hex, anything else as a string. */
export const idToString = (id: unknown): string => (id instanceof ObjectId ? id.toHexString() : String(id))

/**
 * Reads source documents from a MongoDB Extended JSON array (the `samples/` file, or a
 * `mongoexport --jsonArray` dump) for the in-memory store.
 */
export const loadSourceFile = (file: string): Array<SourceRecord> => {
  let docs: unknown
  try {
    docs = EJSON.parse(fs.readFileSync(file, "utf8"), { relaxed: true })
  } catch (e) {
    throw new ConfigError({ setting: "demo.samples", message: `demo.samples: cannot read ${file}: ${(e as Error).message}` })
  }
  if (!Array.isArray(docs)) {
    throw new ConfigError({ setting: "demo.samples", message: `demo.samples: ${file} is not a JSON array of documents` })
  }
  return docs.map((doc: Record<string, unknown>, i) => {
    const { _id, ...rest } = doc
    return { id: _id === undefined ? i.toString(16).padStart(24, "0") : idToString(_id), doc: rest }
  })
}
