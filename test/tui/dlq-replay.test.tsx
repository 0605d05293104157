/**
 * The DLQ view's replay action through the whole app: disabled (and saying how to enable it)
 * without --allow-actions; with it, R and A ask the backend for a dry run, show what would be
 * sent and replay only after `y`; `n` cancels; the backend's refusal is shown.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { DlqReplayAnswer, DlqReplayRequest } from "../../pipeline/contracts/dlq-replay.ts";
import { parseConfig } from "../../tui/config.ts";
import { type Harness, KEYS, renderConsole } from "./helpers.tsx";

let h: Harness | undefined;
afterEach(() => {
  h?.unmount();
  h = undefined;
});

/** A backend answer for `req`: one entry that would be (or was) sent, one already replayed. */
function answer(req: DlqReplayRequest): DlqReplayAnswer {
  const dry = req.dry_run === true;
  const item = {
    from: "kafka:embeddings_dlq/2/17",
    original: req.original?.[0] ?? "parse:agent.results/2/6890",
    key: null,
    stage: "parse" as const,
    reason: "empty_text",
    doc_id: null,
    bytes: 3,
    replay_count: 0,
  };
  return {
    summary: {
      source: "kafka:embeddings_dlq",
      filter: "original parse:agent.results/2/6890",
      dry_run: dry,
      read: 16,
      matched: 2,
      sent: dry ? 0 : 1,
      would_send: dry ? 1 : 0,
      already_replayed: 1,
      duplicates: 0,
      skipped: {},
      replays_of_replays: 0,
      beyond_limit: 0,
      unreadable: 0,
      seconds: 0.4,
    },
    items: [
      { ...item, to: "agent.results/2", status: dry ? "would_send" : "sent" },
      {
        ...item,
        from: "kafka:embeddings_dlq/0/3",
        to: null,
        status: "already_replayed",
        why: "replayed at …",
      },
    ],
  };
}

const replays = () => (h?.transport.requests ?? []).filter((r) => r.path === "/api/dlq/replay");

async function dlqView(allowActions: boolean, status = 200) {
  h = await renderConsole({
    view: "dlq",
    allowActions,
    setup: (t) =>
      t.respondWith("/api/dlq/replay", (_p, body) =>
        status === 200
          ? { status, body: answer(body as DlqReplayRequest) }
          : {
              status,
              body: {
                error: "DLQ replay is disabled on this backend: start it with BACKEND_ALLOW_DLQ_REPLAY=1",
              },
            },
      ),
  });
  await h.waitFor((f) => f.includes("newest entries"), "the DLQ table");
}

describe("without --allow-actions", () => {
  test("the view says replay is disabled and how to enable it; R only explains", async () => {
    await dlqView(false);
    expect(h?.lastFrame()).toContain("replay is disabled: start the console with --allow-actions");
    await h?.press("R");
    await h?.waitFor((f) => f.includes("actions are disabled: start the console with"), "the notice");
    await h?.press("A");
    expect(replays()).toEqual([]);
    expect(h?.lastFrame()).toContain("newest entries"); // still the list, no confirmation
  });

  test("--allow-actions and TUI_ALLOW_ACTIONS turn it on; a wrong value is refused", () => {
    const cfg = (argv: string[], env: Record<string, string> = {}) => parseConfig(argv, env, "/");
    expect(cfg([])).toMatchObject({ allowActions: false });
    expect(cfg(["--allow-actions"])).toMatchObject({ allowActions: true });
    expect(cfg([], { TUI_ALLOW_ACTIONS: "1" })).toMatchObject({ allowActions: true });
    expect(() => cfg([], { TUI_ALLOW_ACTIONS: "maybe" })).toThrow(/TUI_ALLOW_ACTIONS must be 1 or 0/);
  });
});

describe("with --allow-actions", () => {
  test("R shows the dry run of the selected entry and replays only after y", async () => {
    await dlqView(true);
    expect(h?.lastFrame()).toContain("R replays the selected entry");
    await h?.press("R");
    const f = await h?.waitFor(
      (x) => x.includes("Replay 1 entries? y replays, n or Esc cancels"),
      "the confirmation",
    );
    expect(f).toContain("what: the selected entry (empty_text)");
    expect(f).toContain("1 would be sent · 0 skipped · 1 already replayed");
    expect(f).toContain("send agent.results/2");
    expect(replays()).toEqual([
      {
        path: "/api/dlq/replay",
        method: "POST",
        body: { original: ["parse:agent.results/2/6890"], dry_run: true },
      },
    ]);
    await h?.press("y");
    await h?.waitFor((x) => x.includes("replayed: 1 sent"), "the replay's summary");
    expect(replays()[1]?.body).toEqual({ original: ["parse:agent.results/2/6890"], dry_run: false });
    expect(h?.lastFrame()).toContain("newest entries"); // back to the list
  });

  test("A asks for the selected entry's stage and reason; n cancels without replaying", async () => {
    await dlqView(true);
    await h?.press("A");
    const f = await h?.waitFor((x) => x.includes("y replays, n or Esc cancels"), "the confirmation");
    expect(f).toContain("what: every entry of stage parse, reason empty_text");
    expect(replays()[0]?.body).toEqual({ stage: ["parse"], reason: ["empty_text"], dry_run: true });
    await h?.press("q"); // keys other than y/n do nothing here
    expect(h?.quits).toBe(0);
    await h?.press("n");
    await h?.waitFor((x) => x.includes("newest entries"), "the list again");
    await h?.press("R", KEYS.escape);
    await h?.waitFor((x) => x.includes("newest entries") && !x.includes("y replays"), "cancelled with Esc");
    expect(replays().every((r) => (r.body as DlqReplayRequest).dry_run === true)).toBe(true);
  });

  test("a backend that does not allow replays: its reason is shown, nothing is asked", async () => {
    await dlqView(true, 403);
    await h?.press("R");
    await h?.waitFor((x) => x.includes("replay refused: HTTP 403: DLQ replay is disabled"), "the refusal");
    expect(h?.lastFrame()).not.toContain("y replays");
  });
});
