import { Layer } from "effect"
import { Mongo } from "./MongoClient.ts"
import { MongoConversationStore } from "./MongoConversationStore.ts"
import { MongoJobStateStore } from "./MongoJobStateStore.ts"

/** Both MongoDB stores on one client: what `main.ts` loads when the URI is not `memory`. */
export const mongoStoresLayer = Layer.mergeAll(MongoConversationStore.layer, MongoJobStateStore.layer).pipe(Layer.provide(Mongo.layer))
