import type { Logger } from '../log/logger.js';

/**
 * Stops started parts in reverse order of starting. A part that fails to stop is logged and
 * the rest still stop, so one stuck part never keeps the others running.
 */
export class CleanupStack {
  private readonly steps: (() => Promise<void> | void)[] = [];

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  readonly close = async (): Promise<void> => {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (e) {
        this.log.warn({ err: e }, `error while stopping ${this.what}`);
      }
    }
  };
}
