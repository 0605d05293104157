import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(120_000);
