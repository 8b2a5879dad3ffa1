// A view the launch does not show is loaded the first time it is asked for, so the launch parses,
// styles and lays out only what it draws.

/** Loads a module's default export once; after a failed load the next call tries again. */
export function onDemand<T>(load: () => Promise<{ default: T }>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().then(
      (module) => module.default,
      (reason: unknown) => {
        loading = undefined;
        throw reason;
      },
    ));
}
