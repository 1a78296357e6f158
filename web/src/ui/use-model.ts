// Re-renders a component whenever the live model applied a frame's batch (at most once a frame).
import { useEffect, useReducer } from "preact/hooks";
import type { LiveModel } from "../live/live-model.js";

export function useModelVersion(model: LiveModel | undefined): number {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => model?.subscribe(() => bump(undefined)), [model]);
  return model?.version ?? 0;
}

/** Calls `tick` now and every `ms` while mounted (polling pa, refreshing charts). */
export function useInterval(tick: () => void, ms: number, deps: unknown[]): void {
  useEffect(() => {
    tick();
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  }, deps);
}
