import { describe, expect, test } from "bun:test";
import { newClusterId } from "../../scripts/lib/kafka-local.ts";

describe("KRaft cluster id", () => {
  test("an id that would start with '-' is drawn again (kafka-storage format -t reads it as a flag)", () => {
    // 0xf8 is 111110xx: base64url index 62, which is '-'.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x41)];
    const id = newClusterId(() => draws.shift() as Buffer);
    expect(Buffer.alloc(16, 0xf8).toString("base64url").startsWith("-")).toBe(true);
    expect(id).toBe(Buffer.alloc(16, 0x41).toString("base64url"));
    expect(draws).toHaveLength(0);
  });

  test("random ids are 22 base64url characters and never start with '-'", () => {
    for (let i = 0; i < 2000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
