/** A FIFO lock: each task starts after the previous one settled, whatever its outcome. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => this.release(),
      () => this.release(),
    );
    return result;
  }

  private release(): void {
    this.pending -= 1;
  }
}
