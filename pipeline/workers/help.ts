/** `--help` for worker entry points: usage plus the env variables the worker reads. */
export function helpIfAsked(
  usage: string,
  description: string,
  env: [name: string, meaning: string][],
): void {
  if (!process.argv.includes("--help") && !process.argv.includes("-h")) return;
  const w = Math.max(...env.map(([n]) => n.length));
  console.log(
    [
      `Usage: ${usage}`,
      "",
      description,
      "",
      "Environment (defaults in README.md):",
      ...env.map(([n, m]) => `  ${n.padEnd(w)}  ${m}`),
    ].join("\n"),
  );
  process.exit(0);
}
