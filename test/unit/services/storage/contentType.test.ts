import { describe, expect, it } from "vitest";
import { sniffType, typeFromName } from "../../../../services/storage/gateway/contentType.js";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p)))));

describe("Content-Type", () => {
  it("from the file name's extension, with the types players expect for HLS", () => {
    expect(typeFromName("a.json")).toBe("application/json; charset=utf-8");
    expect(typeFromName("cat.PNG")).toBe("image/png");
    expect(typeFromName("index.html")).toBe("text/html; charset=utf-8");
    expect(typeFromName("master.m3u8")).toBe("application/vnd.apple.mpegurl");
    expect(typeFromName("seg_001.ts")).toBe("video/mp2t");
    expect(typeFromName("clip.mp4")).toBe("video/mp4");
    expect(typeFromName("noext")).toBeUndefined();
    expect(typeFromName(".hidden")).toBeUndefined();
    expect(typeFromName("a.unknownext")).toBeUndefined();
    expect(typeFromName(undefined)).toBeUndefined();
  });

  it("sniffed from magic numbers when the name says nothing", () => {
    expect(sniffType(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "rest"))).toBe("image/png");
    expect(sniffType(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe("image/jpeg");
    expect(sniffType(bytes("GIF89a..."))).toBe("image/gif");
    expect(sniffType(bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 "))).toBe("image/webp");
    expect(sniffType(bytes("%PDF-1.7"))).toBe("application/pdf");
    expect(sniffType(bytes([0, 0, 0, 0x20], "ftypisom"))).toBe("video/mp4");
    expect(sniffType(bytes("#EXTM3U\n#EXT-X-VERSION:3\n"))).toBe("application/vnd.apple.mpegurl");
    const ts = new Uint8Array(188 * 3);
    ts[0] = ts[188] = ts[376] = 0x47;
    expect(sniffType(ts)).toBe("video/mp2t");
  });

  it("text: HTML, SVG, JSON (whole or cut at the window), plain; binary is octet-stream", () => {
    expect(sniffType(bytes("  <!DOCTYPE html><p>x"))).toBe("text/html; charset=utf-8");
    expect(sniffType(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe("image/svg+xml");
    expect(sniffType(bytes('{"name":"Azora #1","image":"ipfs://x"}'))).toBe("application/json; charset=utf-8");
    expect(sniffType(bytes(`{"a":"${"x".repeat(600)}`).slice(0, 512))).toBe("application/json; charset=utf-8");
    expect(sniffType(bytes("{not json"))).toBe("text/plain; charset=utf-8");
    expect(sniffType(bytes("hello, world\n"))).toBe("text/plain; charset=utf-8");
    expect(sniffType(bytes([0, 1, 2, 3, 250, 251]))).toBe("application/octet-stream");
    expect(sniffType(new Uint8Array())).toBe("text/plain; charset=utf-8");
  });
});
