/**
 * `GET /v1/live` (WebSocket): the indexed height, sent on connect and after every stored batch, so the UI's home
 * page refreshes when there is something new instead of polling. Server → client only; clients send nothing.
 */
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";

/** Beyond this many open feeds new ones are refused (1013 try again later) and those pages fall back to polling. */
const MAX_FEEDS = 1_000;

export function registerLive(app: FastifyInstance, current: () => Promise<number | null>): (height: number) => void {
  const sockets = new Set<WebSocket>();
  app.get(
    "/v1/live",
    {
      websocket: true,
      schema: {
        summary: 'WebSocket feed of the indexed height: {"height": n} on connect and after each stored batch',
        tags: ["blocks"],
      },
    },
    (socket: WebSocket) => {
      if (sockets.size >= MAX_FEEDS) {
        socket.close(1013, "too many live feeds");
        return;
      }
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("message", () => socket.close(1003, "this feed takes no messages"));
      void current().then(
        (height) => socket.send(JSON.stringify({ height })),
        () => socket.close(1011, "store unavailable"),
      );
    },
  );
  return (height) => {
    const msg = JSON.stringify({ height });
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(msg);
  };
}
