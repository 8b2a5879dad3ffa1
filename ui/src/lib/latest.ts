// Only the newest answer counts: when a request is asked again before its answer arrives (a new
// context, a new reference, the form typed on), answers to the earlier ones must not overwrite the
// state. One Latest per kind of request; `begin()` at the start, and its check before each write.

/** True while the request it was handed for is still the newest. */
export type Fresh = () => boolean;

export class Latest {
  #newest = 0;

  /** Starts a request: every earlier one goes stale. */
  begin(): Fresh {
    const mine = ++this.#newest;
    return () => mine === this.#newest;
  }

  /** Makes every request begun so far stale, without starting one (a reset or clear). */
  drop(): void {
    this.#newest++;
  }
}
