// The baseline for the storage bench: the same files served from a directory by @fastify/static (ETags,
// ranges, no content addressing). `node dist/bench/staticServer.js <root>` prints `static <url>` and serves
// until SIGTERM.
import fastifyStatic from "@fastify/static";
import Fastify from "fastify";

const root = process.argv[2];
if (root === undefined) {
  console.error("usage: staticServer.js <root>");
  process.exit(2);
}
const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root, prefix: "/files/", immutable: true, maxAge: "365d" });
await app.listen({ host: "127.0.0.1", port: 0 });
const addr = app.server.address();
console.log(`static http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`);
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
