/**
 * `bun tui/main.tsx`: reads the settings, starts the feeds, renders <App> in the alternate
 * screen, and on q / Ctrl-C / SIGTERM / SIGHUP stops everything and restores the terminal.
 */
import { render } from "ink";
import { App } from "./App.tsx";
import { ConfigError, HELP, parseConfig } from "./config.ts";
import { createEffects } from "./effects.ts";
import { createDlqReplayClient } from "./sources/dlq.ts";
import { startFeeds } from "./sources/feeds.ts";
import { createKnnClient } from "./sources/knn.ts";
import { realScheduler } from "./sources/scheduler.ts";
import { createHttpTransport } from "./sources/transport.ts";
import { initialState } from "./state/reducer.ts";
import { Store } from "./state/store.ts";

let cfg: ReturnType<typeof parseConfig>;
try {
  cfg = parseConfig(process.argv.slice(2), process.env, process.cwd());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`tui: ${err.message}\n`);
  process.exit(2);
}
if (cfg === "help") {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if (!process.stdin.isTTY || !process.stdout.isTTY) {
  process.stderr.write("tui: the console needs an interactive terminal (stdin and stdout must be a TTY)\n");
  process.exit(2);
}

const config = cfg;
const store = new Store(
  initialState({ backendUrl: config.backendUrl, now: Date.now(), allowActions: config.allowActions }),
);
const transport = createHttpTransport({ baseUrl: config.backendUrl, token: config.token });
const feeds = startFeeds({
  transport,
  dispatch: store.dispatch,
  scheduler: realScheduler,
  dlqLimit: config.dlqLimit,
});

let quitting = false;
const quit = () => {
  if (quitting) return;
  quitting = true;
  feeds.stop();
  instance.unmount();
};

const effects = createEffects({
  store,
  knnQuery: createKnnClient(transport),
  saveDir: config.saveDir,
  cwd: process.cwd(),
  now: Date.now,
  refresh: feeds.refresh,
  quit,
  dlqReplay: createDlqReplayClient(transport),
});

const instance = render(<App store={store} effects={effects} color={config.color} fps={10} />, {
  maxFps: 10,
  exitOnCtrlC: false,
  alternateScreen: true,
  incrementalRendering: true,
  // The console only runs on a terminal (checked above). Ink would otherwise go non-interactive
  // wherever CI is set — rendering nothing until exit — e.g. an operator's shell on a CI box.
  interactive: true,
});

for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) process.once(signal, quit);

await instance.waitUntilExit();
feeds.stop();
process.exit(0);
