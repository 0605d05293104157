/**
 * Jars from Maven Central, fetched once into a cache folder: a throwaway POM lists what is
 * wanted, `mvn dependency:copy-dependencies` copies the jars, and the folder is marked
 * complete only when everything arrived (an interrupted fetch starts over).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import type { Progress } from "./progress.ts";
import { ScriptError } from "./progress.ts";

export interface MavenArtifact {
  group: string;
  artifact: string;
  version: string;
}

export interface MavenFetch {
  /** Folder that receives the jars (created; replaced only once complete). */
  dir: string;
  dependencies: MavenArtifact[];
  /** Only these artifact ids of the dependency closure are copied (default: all of it). */
  include?: string[];
  /** Repositories declared by id, e.g. to override a parent POM's unreachable mirror. */
  repositories?: { id: string; url: string }[];
  /** Private local repository (default: Maven's own, ~/.m2/repository). */
  localRepository?: string;
  /** What is being fetched, for error messages. */
  what: string;
}

export const MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2";

function pom(f: MavenFetch): string {
  const dep = (d: MavenArtifact) =>
    `<dependency><groupId>${d.group}</groupId><artifactId>${d.artifact}</artifactId><version>${d.version}</version></dependency>`;
  const repos = (f.repositories ?? []).map(
    (r) => `<repository><id>${r.id}</id><url>${r.url}</url></repository>`,
  );
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rl-embeddings</groupId><artifactId>runtime-jars</artifactId><version>1</version>
  <packaging>pom</packaging>
  <repositories>${repos.join("")}</repositories>
  <dependencies>
    ${f.dependencies.map(dep).join("\n    ")}
  </dependencies>
</project>
`;
}

/** Fetches the jars once; returns the folder. Progress shows the files downloaded. */
export async function mavenJars(f: MavenFetch, progress: Progress): Promise<string> {
  if (existsSync(join(f.dir, ".complete"))) return f.dir;
  const mvn = await $`command -v mvn`.nothrow().quiet();
  if (mvn.exitCode !== 0) {
    throw new ScriptError(
      `Maven (mvn) is needed to fetch ${f.what}: install Maven and Java 17+ (apt-get install maven).`,
    );
  }
  const work = `${f.dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const pomFile = join(work, "pom.xml");
  writeFileSync(pomFile, pom(f));
  const args = [
    "-B",
    "-f",
    pomFile,
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${work}`,
    ...(f.include ? [`-DincludeArtifactIds=${f.include.join(",")}`] : []),
    ...(f.localRepository ? [`-Dmaven.repo.local=${f.localRepository}`] : []),
  ];
  let downloaded = 0;
  const lines: string[] = [];
  const proc = $`mvn ${args}`.nothrow().quiet();
  for await (const line of proc) {
    lines.push(line);
    if (line.includes("Downloaded from")) progress.update(`${++downloaded} files downloaded`);
  }
  const result = await proc;
  if (result.exitCode !== 0) {
    throw new ScriptError(`Maven could not fetch ${f.what}:\n${lines.slice(-25).join("\n")}`);
  }
  rmSync(pomFile);
  const jars = readdirSync(work).filter((name) => name.endsWith(".jar"));
  if (f.include && jars.length < f.include.length) {
    throw new ScriptError(
      `Maven fetched ${jars.length} of the ${f.include.length} jars of ${f.what} (${jars.join(", ")}):\n` +
        lines.slice(-25).join("\n"),
    );
  }
  progress.update(`${jars.length} jars`);
  writeFileSync(join(work, ".complete"), `${jars.join("\n")}\n`);
  rmSync(f.dir, { recursive: true, force: true });
  mkdirSync(join(f.dir, ".."), { recursive: true });
  renameSync(work, f.dir);
  return f.dir;
}
