import { useEffect, useRef, useState } from "react";
import type { Store } from "./state/store.ts";
import type { State } from "./state/types.ts";

/**
 * The store's state, re-rendered at most once per `intervalMs` (the first change after a
 * quiet period renders at once, later ones are batched into one trailing render).
 */
export function useThrottledState(store: Store, intervalMs: number): State {
  const [state, setState] = useState(store.getState);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    const flush = () => {
      timer.current = undefined;
      last.current = Date.now();
      setState(store.getState());
    };
    const unsubscribe = store.subscribe(() => {
      if (timer.current !== undefined) return;
      const wait = last.current + intervalMs - Date.now();
      if (wait <= 0) flush();
      else timer.current = setTimeout(flush, wait);
    });
    // A change between the first render and the subscription.
    setState(store.getState());
    return () => {
      unsubscribe();
      clearTimeout(timer.current);
    };
  }, [store, intervalMs]);
  return state;
}
