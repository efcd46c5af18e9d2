import { MongoClient, type ObjectId } from "mongodb"

export interface InvariantReport {
  readonly sources: number
  readonly checkpoint: string | null
  /** Source ids up to the checkpoint with neither a result nor an open dead letter. */
  readonly lost: ReadonlyArray<string>
  /** Source ids with more than one result document, or more than one dead-letter document. */
  readonly duplicated: ReadonlyArray<string>
  /** Source ids with both a result and an open dead letter. */
  readonly both: ReadonlyArray<string>
  readonly results: number
  readonly openDeadLetters: number
}

/**
 * The job's invariant, read straight from the database with the driver (not through our
 * stores): every source document up to the checkpoint has exactly one result or exactly one
 * open dead letter; nothing is lost and nothing is duplicated anywhere.
 */
export const checkInvariant = async (uri: string, dbName: string, jobName = "conversation_performance_analysis"): Promise<InvariantReport> => {
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 })
  try {
    const db = client.db(dbName)
    const state = await db.collection("job_state").findOne({ job_name: jobName })
    const checkpoint = (state?.last_processed_object_id as string | null | undefined) ?? null
    const ids = (await db.collection("sentiment_analysis").find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray())
      .map((d) => (d._id as ObjectId).toHexString())
    const count = (docs: Array<{ source_object_id: string }>) => {
      const m = new Map<string, number>()
      for (const d of docs) m.set(d.source_object_id, (m.get(d.source_object_id) ?? 0) + 1)
      return m
    }
    const results = count(await db.collection("agentic_analysis").find({}, { projection: { source_object_id: 1 } }).toArray() as never)
    const dls = await db.collection("failed_analysis_records").find({}, { projection: { source_object_id: 1, status: 1 } }).toArray()
    const allDl = count(dls as never)
    const openDl = count(dls.filter((d) => d.status === "open") as never)
    const lost: Array<string> = []
    const both: Array<string> = []
    for (const id of ids) {
      const r = results.get(id) ?? 0
      const o = openDl.get(id) ?? 0
      if (checkpoint !== null && id <= checkpoint && r + o === 0) lost.push(id)
      if (r > 0 && o > 0) both.push(id)
    }
    const duplicated = [...new Set([...[...results].filter(([, n]) => n > 1), ...[...allDl].filter(([, n]) => n > 1)].map(([id]) => id))]
    return {
      sources: ids.length,
      checkpoint,
      lost,
      duplicated,
      both,
      results: [...results.values()].reduce((a, b) => a + b, 0),
      openDeadLetters: [...openDl.values()].reduce((a, b) => a + b, 0)
    }
  } finally {
    await client.close()
  }
}
