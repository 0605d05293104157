import { describe, expect, test } from "bun:test";
import { bearerMatches } from "../../pipeline/core/http-edge.ts";

describe("bearer token check", () => {
  test("accepts exactly `Bearer <key>`, scheme in any case, surrounding blanks ignored", () => {
    expect(bearerMatches("Bearer k3y", "k3y")).toBe(true);
    expect(bearerMatches("bearer   k3y  ", "k3y")).toBe(true);
    expect(bearerMatches("BEARER k3y", "k3y")).toBe(true);
  });

  test.each([null, "", "Bearer", "Bearer ", "k3y", "Basic k3y", "Bearer k3", "Bearer k3y4", "Bearer K3Y"])(
    "refuses %p",
    (header) => {
      expect(bearerMatches(header, "k3y")).toBe(false);
    },
  );
});
