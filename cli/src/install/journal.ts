/**
 * What an install has done so far, each step with its undo: a failed install undoes them in
 * reverse order, so nothing is left half-installed.
 */
export interface Step {
  /** What was done, in words (printed when it is done, and when it is undone). */
  did: string;
  undo?: () => void | Promise<void>;
}

export class Journal {
  private readonly steps: Step[] = [];
  private readonly say: (line: string) => void;

  constructor(say: (line: string) => void) {
    this.say = say;
  }

  /** Records a step that is done. */
  done(did: string, undo?: Step['undo']): void {
    this.steps.push({ did, undo });
    this.say(`  ${did}`);
  }

  get count(): number {
    return this.steps.length;
  }

  /** Undoes every step, last first; an undo that fails is reported and the rest still run. */
  async rollback(): Promise<string[]> {
    const problems: string[] = [];
    for (const s of this.steps.splice(0).reverse()) {
      if (!s.undo) continue;
      try {
        await s.undo();
        this.say(`  undone: ${s.did}`);
      } catch (err) {
        problems.push(`${s.did}: ${(err as Error).message}`);
        this.say(`  could not undo: ${s.did}: ${(err as Error).message}`);
      }
    }
    return problems;
  }
}
