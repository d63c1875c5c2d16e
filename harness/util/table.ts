/** A plain-text table: a header, a rule, columns padded (right-aligned where asked). */
export function table(headers: string[], rows: (string | number)[][], rightAlign: boolean[] = []): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, col) => Math.max(...cells.map((row) => row[col].length)));
  const line = (row: string[]) =>
    row
      .map((cell, col) => (rightAlign[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
