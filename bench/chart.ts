/**
 * The chart of transitions and cost against fleet size: an SVG built here,
 * rendered to PNG by resvg (with the system's DejaVu Sans, which resvg finds
 * itself; nothing is fetched).
 */
import { Resvg } from '@resvg/resvg-js';

export interface ChartSeries {
  readonly label: string;
  readonly points: readonly { readonly hosts: number; readonly transitions: number; readonly costUsd: number }[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const WIDTH = 1160;
const HEIGHT = 530;
const PANEL = { width: 470, height: 340, top: 70 };
const FONT = 'DejaVu Sans, sans-serif';

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function text(x: number, y: number, body: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" ${attrs}>${esc(body)}</text>`;
}

/** Decades that cover every value (at least one). */
function decades(values: readonly number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [0, 1];
  const low = Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.ceil(Math.log10(Math.max(...positive)));
  return [low, Math.max(high, low + 1)];
}

function tickLabel(exponent: number, money: boolean): string {
  const value = 10 ** exponent;
  if (money) return exponent >= 0 ? `$${value.toLocaleString('en-US')}` : `$${value.toFixed(-exponent)}`;
  return value.toLocaleString('en-US');
}

interface Panel {
  readonly left: number;
  readonly title: string;
  readonly money: boolean;
  readonly value: (p: ChartSeries['points'][number]) => number;
  /** A dashed guide: its value at a fleet size, and its label. */
  readonly guide: { readonly at: (hosts: number) => number; readonly label: string };
}

function panel(p: Panel, series: readonly ChartSeries[], xDecades: [number, number]): string {
  const { width, height, top } = PANEL;
  const values = series.flatMap((s) => s.points.map(p.value));
  const [y0, y1] = decades([...values, p.guide.at(10 ** xDecades[0]), p.guide.at(10 ** xDecades[1])]);
  const x = (hosts: number) => p.left + ((Math.log10(hosts) - xDecades[0]) / (xDecades[1] - xDecades[0])) * width;
  const y = (v: number) => top + height - ((Math.log10(Math.max(v, 10 ** y0)) - y0) / (y1 - y0)) * height;
  const out: string[] = [];
  out.push(`<rect x="${p.left}" y="${top}" width="${width}" height="${height}" fill="#ffffff" stroke="#444444"/>`);
  out.push(text(p.left + width / 2, top - 16, p.title, 'font-size="17" font-weight="bold" text-anchor="middle"'));
  for (let e = y0; e <= y1; e++) {
    const py = y(10 ** e);
    out.push(`<line x1="${p.left}" x2="${p.left + width}" y1="${py.toFixed(1)}" y2="${py.toFixed(1)}" stroke="#dddddd"/>`);
    out.push(text(p.left - 8, py + 4, tickLabel(e, p.money), 'font-size="12" text-anchor="end"'));
  }
  for (let e = xDecades[0]; e <= xDecades[1]; e++) {
    const px = x(10 ** e);
    out.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${top}" y2="${top + height}" stroke="#dddddd"/>`);
    out.push(text(px, top + height + 18, (10 ** e).toLocaleString('en-US'), 'font-size="12" text-anchor="middle"'));
  }
  out.push(text(p.left + width / 2, top + height + 40, 'hosts deployed (log scale)', 'font-size="13" text-anchor="middle"'));
  const g0 = 10 ** xDecades[0];
  const g1 = 10 ** xDecades[1];
  out.push(
    `<line x1="${x(g0).toFixed(1)}" y1="${y(p.guide.at(g0)).toFixed(1)}" x2="${x(g1).toFixed(1)}" y2="${y(p.guide.at(g1)).toFixed(1)}" stroke="#000000" stroke-dasharray="6 4"/>`,
  );
  out.push(text(p.left + 8, top + 18, p.guide.label, 'font-size="12" font-style="italic"'));
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = [...s.points].sort((a, b) => a.hosts - b.hosts).map((pt) => `${x(pt.hosts).toFixed(1)},${y(p.value(pt)).toFixed(1)}`);
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const point of points) {
      const [cx, cy] = point.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`);
    }
  });
  return out.join('\n');
}

/** The two panels (transitions, cost; both against fleet size, log-log) and the legend, as SVG. */
export function chartSvg(series: readonly ChartSeries[], guides: { maxTransitions: number; usdPerThousandHosts: number }): string {
  const hosts = series.flatMap((s) => s.points.map((p) => p.hosts));
  const xDecades = decades(hosts);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(
      WIDTH / 2,
      30,
      'deployctl: state transitions and estimated AWS cost per deployment, by fleet size',
      'font-size="19" text-anchor="middle"',
    ),
    panel(
      {
        left: 90,
        title: 'State transitions',
        money: false,
        value: (p) => p.transitions,
        guide: {
          at: () => guides.maxTransitions,
          label: `target: ${guides.maxTransitions.toLocaleString('en-US')} (10,000 hosts, rolling 1%)`,
        },
      },
      series,
      xDecades,
    ),
    panel(
      {
        left: 660,
        title: 'Estimated cost (USD, list prices)',
        money: true,
        value: (p) => p.costUsd,
        guide: { at: (h) => (h / 1000) * guides.usdPerThousandHosts, label: `target: $${guides.usdPerThousandHosts} per 1,000 hosts` },
      },
      series,
      xDecades,
    ),
  ];
  const legendTop = PANEL.top + PANEL.height + 70;
  series.forEach((s, i) => {
    const column = i % 4;
    const row = Math.floor(i / 4);
    const lx = 90 + column * 270;
    const ly = legendTop + row * 24;
    const color = COLORS[i % COLORS.length];
    parts.push(`<line x1="${lx}" x2="${lx + 28}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    parts.push(text(lx + 36, ly, s.label, 'font-size="14"'));
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The SVG as a PNG. */
export function renderPng(svg: string): Buffer {
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().asPng();
  return Buffer.from(png);
}
