/** A `filters:` entry that cannot be built. The message names the entry's position and filter. */
export class FilterConfigError extends Error {
  /** Position of the bad entry in the list (0-based). */
  readonly index: number;
  /** The entry's key (`median`, `delta`...), or `undefined` when the entry had no usable key. */
  readonly filter: string | undefined;

  constructor(index: number, filter: string | undefined, reason: string) {
    super(`filter #${index + 1}${filter === undefined ? '' : ` (${filter})`}: ${reason}`);
    this.name = 'FilterConfigError';
    this.index = index;
    this.filter = filter;
  }
}
