import { Text } from "ink";
import type { HealthStatus } from "../state/health.ts";
import { statusTone, useTone } from "./theme.tsx";

/** Distinct glyphs, so status reads without colour too. */
const GLYPH: Record<HealthStatus, string> = { up: "●", warn: "◐", down: "✕", unknown: "○", off: "–" };

export function StatusDot({ status }: { status: HealthStatus }) {
  return <Text color={useTone()(statusTone[status])}>{GLYPH[status]}</Text>;
}
