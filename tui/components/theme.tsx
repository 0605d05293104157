/**
 * Colours, honouring NO_COLOR: with colours off every component renders without colour
 * (bold, dim and inverse still mark headings and the selection).
 */
import { createContext, type ReactNode, useContext } from "react";
import type { HealthStatus } from "../state/health.ts";

export type Tone = "ok" | "warn" | "bad" | "muted" | "accent" | "accent2";

const COLORS: Record<Tone, string> = {
  ok: "green",
  warn: "yellow",
  bad: "red",
  muted: "gray",
  accent: "cyan",
  accent2: "magenta",
};

const ThemeContext = createContext<{ color: boolean }>({ color: true });

export function ThemeProvider({ color, children }: { color: boolean; children: ReactNode }) {
  return <ThemeContext.Provider value={{ color }}>{children}</ThemeContext.Provider>;
}

/** A function giving the colour of a tone, or undefined when colours are off. */
export function useTone(): (tone: Tone | undefined) => string | undefined {
  const { color } = useContext(ThemeContext);
  return (tone) => (color && tone ? COLORS[tone] : undefined);
}

export const statusTone: Record<HealthStatus, Tone> = {
  up: "ok",
  warn: "warn",
  down: "bad",
  unknown: "muted",
  off: "muted",
};
