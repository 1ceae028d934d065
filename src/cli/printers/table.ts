import Table from 'cli-table3';

// kubectl's table look: no borders, columns left aligned and three spaces apart. cli-table3 does
// the layout (it measures wide characters and ANSI codes correctly); lines are right-trimmed
// because the last column needs no padding.

const noBorders = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '   ',
};

export const columnGap = 3;

/**
 * Renders rows (and a header unless `header` is undefined). `minWidths` keeps later lines of a
 * watch aligned with the table printed first.
 */
export function renderTable(header: string[] | undefined, rows: string[][], minWidths?: number[]): string {
  const ncols = header?.length ?? rows[0]?.length ?? 0;
  if (ncols === 0) return '';
  const colWidths = minWidths ? Array.from({ length: ncols }, (_, i) => widthOf(i, header, rows, minWidths[i])) : undefined;
  const table = new Table({
    chars: noBorders,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    ...(header ? { head: header } : {}),
    ...(colWidths ? { colWidths } : {}),
    wordWrap: false,
  });
  table.push(...rows.map((r) => r.map((c) => c.replace(/\n/g, ' '))));
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

/** Display widths of each column as rendered, for aligning rows printed later. */
export function columnWidths(header: string[] | undefined, rows: string[][]): number[] {
  const ncols = header?.length ?? rows[0]?.length ?? 0;
  return Array.from({ length: ncols }, (_, i) => widthOf(i, header, rows, 0));
}

function widthOf(i: number, header: string[] | undefined, rows: string[][], min: number): number {
  const cells = [...(header ? [header[i]] : []), ...rows.map((r) => r[i] ?? '')];
  return Math.max(min, ...cells.map((c) => [...c].length));
}
