/** A tiny observable store around the reducer: sources and keys dispatch, the UI subscribes. */
import type { Action } from "./actions.ts";
import { type ReducerOptions, reduce } from "./reducer.ts";
import type { State } from "./types.ts";

export type Dispatch = (action: Action) => void;

export class Store {
  private state: State;
  private readonly listeners = new Set<() => void>();

  constructor(
    initial: State,
    private readonly opts: ReducerOptions = {},
  ) {
    this.state = initial;
  }

  getState = (): State => this.state;

  dispatch: Dispatch = (action) => {
    const next = reduce(this.state, action, this.opts);
    if (next === this.state) return;
    this.state = next;
    for (const l of [...this.listeners]) l();
  };

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };
}
