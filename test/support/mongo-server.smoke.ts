/**
 * Hand-run self-check of mongo-server.ts (not a vitest file):
 *
 *   node test/support/mongo-server.smoke.ts
 *
 * 1. acquireTestMongo(): connect with the mongodb driver, insertOne/find, unique index (E11000), stop.
 * 2. startFerretDb(): write, SIGKILL the server mid-flight, restart on the same port and data dir,
 *    check the data and the unique index survived, stop and check the temp dir is gone.
 * Exits 0 and prints "smoke: OK" on success; exits 1 with the error otherwise.
 */
import { existsSync } from "node:fs";
import { MongoClient, MongoServerError } from "mongodb";
import { acquireTestMongo, startFerretDb } from "./mongo-server.ts";

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`  ok: ${what}`);
}

function ms(since: number): string {
  return `${Date.now() - since} ms`;
}

async function expectDuplicateKey(run: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await run();
  } catch (error) {
    check(error instanceof MongoServerError && error.code === 11000, `${what} -> E11000 (${String(error instanceof Error ? error.message : error)})`);
    return;
  }
  check(false, `${what} -> E11000 expected, but it succeeded`);
}

async function main(): Promise<void> {
  let t = Date.now();
  console.log("1. acquireTestMongo()");
  const acquired = await acquireTestMongo();
  if ("unavailable" in acquired) throw new Error(`unavailable: ${acquired.unavailable}`);
  console.log(`  acquired ${acquired.kind} at ${acquired.uri} in ${ms(t)}`);

  const client = new MongoClient(acquired.uri);
  try {
    const coll = client.db("cpa_smoke").collection<{ _id?: unknown; key: string; n: number }>("items");
    await coll.insertOne({ key: "a", n: 1 });
    const found = await coll.find({ key: "a" }).toArray();
    check(found.length === 1 && found[0]?.n === 1, "insertOne + find");
    const indexName = await coll.createIndex({ key: 1 }, { unique: true });
    check(indexName === "key_1", `createIndex unique -> ${indexName}`);
    await expectDuplicateKey(() => coll.insertOne({ key: "a", n: 2 }), "duplicate insert");
    const build = await client.db("admin").command({ buildInfo: 1 });
    console.log(`  server says version ${String(build["version"])}`);
  } finally {
    await client.close();
  }
  t = Date.now();
  await acquired.stop();
  console.log(`  stopped in ${ms(t)}`);

  console.log("2. startFerretDb(): kill -9 and restart on the same port and data dir");
  t = Date.now();
  const server = await startFerretDb();
  console.log(`  started at ${server.uri} (data ${server.dataDir}) in ${ms(t)}`);

  const writer = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const coll = writer.db("cpa_smoke").collection<{ _id: number; key: string }>("survive");
    await coll.createIndex({ key: 1 }, { unique: true });
    await coll.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, key: `k${i}` })));
    check((await coll.countDocuments()) === 100, "100 documents written before the crash");

    t = Date.now();
    server.kill();
    let failedWhileDown = false;
    try {
      await coll.insertOne({ _id: 1000, key: "while-down" });
    } catch {
      failedWhileDown = true;
    }
    check(failedWhileDown, `insert fails while the server is down (${ms(t)})`);

    t = Date.now();
    await server.restart();
    console.log(`  restarted on ${server.uri} in ${ms(t)}`);

    // The same client reconnects by itself once the server is back.
    check((await coll.countDocuments()) === 100, "all 100 documents survived SIGKILL (same client, reconnected)");
    const indexes = await coll.listIndexes().toArray();
    check(indexes.some((ix) => ix["name"] === "key_1" && ix["unique"] === true), "unique index survived");
    await expectDuplicateKey(() => coll.insertOne({ _id: 2000, key: "k5" }), "duplicate after restart");
    await coll.insertOne({ _id: 3000, key: "after-restart" });
    check((await coll.countDocuments()) === 101, "writes work after restart");
  } finally {
    await writer.close();
  }

  t = Date.now();
  const dir = server.dataDir;
  await server.stop();
  check(!existsSync(dir), `stop() removed the temp data dir (${ms(t)})`);
  console.log("smoke: OK");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("smoke: FAILED:", error);
    process.exit(1);
  },
);
