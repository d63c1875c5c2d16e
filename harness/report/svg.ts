/** Escaping and small SVG pieces for the self-contained HTML reports. */

export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A horizontal bar chart: one bar per label, the value printed at its end. */
export function barChart(title: string, bars: { label: string; value: number; className?: string }[], unit = ''): string {
  const labelWidth = Math.max(80, ...bars.map((b) => b.label.length * 7 + 10));
  const barArea = 360;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowHeight = 22;
  const height = bars.length * rowHeight + 30;
  const rows = bars
    .map((bar, i) => {
      const y = 24 + i * rowHeight;
      const width = (bar.value / max) * barArea;
      return (
        `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${esc(bar.label)}</text>` +
        `<rect class="bar ${esc(bar.className ?? '')}" x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}"/>` +
        `<text x="${labelWidth + width + 6}" y="${y + 14}">${esc(formatNumber(bar.value))}${esc(unit)}</text>`
      );
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" width="${labelWidth + barArea + 90}" height="${height}" xmlns="http://www.w3.org/2000/svg"><text class="chart-title" x="0" y="14">${esc(title)}</text>${rows}</svg>`;
}

/** Grouped bars: per group (an architecture) one bar per series (p50, p95, p99). */
export function groupedBarChart(title: string, series: string[], groups: { label: string; values: number[] }[], unit: string): string {
  const labelWidth = Math.max(80, ...groups.map((g) => g.label.length * 7 + 10));
  const barArea = 420;
  const max = Math.max(1, ...groups.flatMap((g) => g.values));
  const barHeight = 12;
  const groupHeight = series.length * barHeight + 12;
  const height = groups.length * groupHeight + 50;
  const rows = groups
    .map((group, g) => {
      const y0 = 40 + g * groupHeight;
      const label = `<text x="${labelWidth - 8}" y="${y0 + (series.length * barHeight) / 2 + 4}" text-anchor="end">${esc(group.label)}</text>`;
      const bars = group.values
        .map((value, s) => {
          const width = (value / max) * barArea;
          const y = y0 + s * barHeight;
          return `<rect class="bar series-${s}" x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight - 2}"><title>${esc(`${group.label} ${series[s]}: ${formatNumber(value)} ${unit}`)}</title></rect><text class="small" x="${labelWidth + width + 4}" y="${y + 9}">${esc(formatNumber(value))}</text>`;
        })
        .join('');
      return label + bars;
    })
    .join('');
  const legend = series
    .map((name, s) => `<rect class="bar series-${s}" x="${labelWidth + s * 80}" y="20" width="10" height="10"/><text x="${labelWidth + s * 80 + 14}" y="29">${esc(name)} ${esc(unit)}</text>`)
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" width="${labelWidth + barArea + 70}" height="${height}" xmlns="http://www.w3.org/2000/svg"><text class="chart-title" x="0" y="14">${esc(title)}</text>${legend}${rows}</svg>`;
}

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
