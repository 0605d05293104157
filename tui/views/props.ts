import type { State } from "../state/types.ts";

/** What every view is rendered with: the state and the body's size in cells. */
export interface ViewProps {
  state: State;
  width: number;
  height: number;
}
