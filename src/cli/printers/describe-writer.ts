// The layout of `describe`: kubectl writes `Label:\tvalue` lines through Go's tabwriter, which
// aligns a column across each run of consecutive lines that have it (elastic tabstops), two
// spaces after the widest cell. This is that algorithm; nesting is two spaces per level.

const padding = 2;

export class DescribeWriter {
  private readonly lines: string[] = [];

  /** Appends one line at `level`; `\t` separates cells to be aligned. */
  line(level: number, text: string): void {
    this.lines.push(`${'  '.repeat(level)}${text}`);
  }

  /** `Label:\tvalue`, the common case. */
  field(level: number, label: string, value: string | number | undefined): void {
    this.line(level, `${label}:\t${value ?? ''}`);
  }

  toString(): string {
    return alignTabs(this.lines).join('\n') + (this.lines.length ? '\n' : '');
  }
}

const width = (s: string) => [...s].length;

/** Elastic tabstops over lines split at `\t`; the text after the last tab is not aligned. */
export function alignTabs(lines: string[]): string[] {
  const cells = lines.map((l) => l.split('\t'));
  const widths = cells.map((c) => new Array<number>(c.length).fill(0));
  // A line has an aligned cell in column `col` when that cell is followed by a tab.
  const has = (i: number, col: number) => cells[i].length - 1 > col;

  const format = (start: number, end: number, col: number) => {
    let i = start;
    while (i < end) {
      if (!has(i, col)) {
        i++;
        continue;
      }
      let j = i;
      let w = 0;
      while (j < end && has(j, col)) {
        w = Math.max(w, width(cells[j][col]));
        j++;
      }
      for (let k = i; k < j; k++) widths[k][col] = w + padding;
      format(i, j, col + 1);
      i = j;
    }
  };
  format(0, lines.length, 0);

  return cells.map((c, i) =>
    c
      .map((cell, col) => (col < c.length - 1 ? cell + ' '.repeat(widths[i][col] - width(cell)) : cell))
      .join(''),
  );
}
