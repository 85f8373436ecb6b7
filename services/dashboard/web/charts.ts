/** Small SVG charts, drawn as strings (presentation attributes only: the page's CSP allows no inline styles). */

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface XY { x: number; y: number }

export interface LineOptions {
  width?: number;
  height?: number;
  /** Horizontal reference lines, e.g. a threshold. */
  refs?: { y: number; label: string }[];
  xLabel: (x: number) => string;
  yLabel: (y: number) => string;
  className?: string;
  empty?: string;
}

const W = 560;

function niceRange(lo: number, hi: number): [number, number] {
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.01 || 1;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

export function lineChart(points: readonly XY[], o: LineOptions): string {
  const width = o.width ?? W;
  const height = o.height ?? 150;
  const left = 56, right = 8, top = 8, bottom = 18;
  if (points.length === 0) {
    return `<svg viewBox="0 0 ${width} ${height}" role="img"><text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">${esc(o.empty ?? 'no data yet')}</text></svg>`;
  }
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y).concat((o.refs ?? []).map((r) => r.y));
  const [x0, x1] = xs.length > 1 ? [Math.min(...xs), Math.max(...xs)] : [(xs[0] as number) - 1, (xs[0] as number) + 1];
  const [y0, y1] = niceRange(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - y0) / (y1 - y0 || 1)) * (height - top - bottom);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
  const last = points[points.length - 1] as XY;
  const refs = (o.refs ?? []).map((r) => `<line class="ref" x1="${left}" x2="${width - right}" y1="${sy(r.y).toFixed(1)}" y2="${sy(r.y).toFixed(1)}"/><text x="${width - right}" y="${(sy(r.y) - 3).toFixed(1)}" text-anchor="end">${esc(r.label)}</text>`).join('');
  return `<svg viewBox="0 0 ${width} ${height}" role="img">`
    + `<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}"/><line class="axis" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>`
    + `<text x="${left - 4}" y="${top + 8}" text-anchor="end">${esc(o.yLabel(y1))}</text><text x="${left - 4}" y="${height - bottom}" text-anchor="end">${esc(o.yLabel(y0))}</text>`
    + `<text x="${left}" y="${height - 4}">${esc(o.xLabel(x0))}</text><text x="${width - right}" y="${height - 4}" text-anchor="end">${esc(o.xLabel(x1))}</text>`
    + refs
    + `<path class="line ${o.className ?? ''}" d="${path}"/><circle class="dot" cx="${sx(last.x).toFixed(1)}" cy="${sy(last.y).toFixed(1)}" r="2.5"/>`
    + '</svg>';
}

export interface Bar { label: string; value: number; className?: string; title?: string }

export function barChart(bars: readonly Bar[], o: { width?: number; height?: number; yLabel: (y: number) => string; empty?: string }): string {
  const width = o.width ?? W;
  const height = o.height ?? 150;
  const left = 56, right = 8, top = 8, bottom = 18;
  if (bars.length === 0 || bars.every((b) => b.value === 0)) {
    return `<svg viewBox="0 0 ${width} ${height}" role="img"><text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">${esc(o.empty ?? 'no data yet')}</text></svg>`;
  }
  const lo = Math.min(0, ...bars.map((b) => b.value));
  const hi = Math.max(0, ...bars.map((b) => b.value));
  const sy = (y: number) => top + (1 - (y - lo) / (hi - lo || 1)) * (height - top - bottom);
  // Few bars stay bar-shaped rather than filling the width.
  const slot = Math.min(48, (width - left - right) / bars.length);
  const every = Math.ceil(bars.length / 12);
  const body = bars.map((b, i) => {
    const x = left + i * slot + slot * 0.12;
    const y = Math.min(sy(b.value), sy(0));
    const h = Math.max(b.value === 0 ? 0 : 1, Math.abs(sy(b.value) - sy(0)));
    const label = i % every === 0 ? `<text x="${(x + slot * 0.38).toFixed(1)}" y="${height - 4}" text-anchor="middle">${esc(b.label)}</text>` : '';
    return `<rect class="bar ${b.className ?? ''}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.76).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(b.title ?? `${b.label}: ${b.value}`)}</title></rect>${label}`;
  }).join('');
  return `<svg viewBox="0 0 ${width} ${height}" role="img">`
    + `<line class="axis" x1="${left}" x2="${width - right}" y1="${sy(0).toFixed(1)}" y2="${sy(0).toFixed(1)}"/>`
    + `<text x="${left - 4}" y="${top + 8}" text-anchor="end">${esc(o.yLabel(hi))}</text>${lo < 0 ? `<text x="${left - 4}" y="${height - bottom}" text-anchor="end">${esc(o.yLabel(lo))}</text>` : ''}`
    + body + '</svg>';
}

/** A 0–1 bar, coloured by how healthy the value is. */
export function meter(v: number): string {
  const colour = v >= 0.9 ? '#2fb36b' : v >= 0.6 ? '#e0b32d' : v >= 0.3 ? '#e9773a' : '#e5484d';
  return `<svg viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="10"><rect x="0" y="0" height="10" width="${(Math.max(0, Math.min(1, v)) * 100).toFixed(1)}" fill="${colour}"/></svg>`;
}
