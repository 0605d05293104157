/** `--help` for worker entry points: usage, what it does, and the variables it reads (from pipeline/config.ts). */
import { environmentHelp, type Section, type VariableName } from "../config.ts";

export function helpIfAsked(
  usage: string,
  description: string,
  env: { sections: readonly Section[]; also?: readonly VariableName[] },
): void {
  if (!process.argv.includes("--help") && !process.argv.includes("-h")) return;
  console.log(
    [
      `Usage: ${usage}`,
      "",
      description,
      "",
      "Environment (every variable: README.md, Configuration):",
      environmentHelp(env.sections, env.also),
    ].join("\n"),
  );
  process.exit(0);
}
