/** One series of a failure-rate plot: (NMI rate per second, failure rate 0..1) points. */
export interface PlotSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * An SVG line plot of allocation failure rate against NMI rate, x on a log10 scale (rate 0 drawn at
 * the left edge), y in percent. Deterministic text: same series, same bytes.
 */
export function failureRatePlot(series: readonly PlotSeries[], title: string): string {
  const W = 640;
  const H = 400;
  const L = 70;
  const R = 150;
  const T = 40;
  const B = 50;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter((x) => x > 0);
  const xmin = Math.floor(Math.log10(xs.length > 0 ? Math.min(...xs) : 1));
  const xmax = Math.max(xmin + 1, Math.ceil(Math.log10(xs.length > 0 ? Math.max(...xs) : 10)));
  const ymaxRaw = Math.max(...series.flatMap((s) => s.points.map((p) => p[1] * 100)), 0.001);
  const ymax =
    10 ** Math.ceil(Math.log10(ymaxRaw)) / (ymaxRaw <= 10 ** Math.ceil(Math.log10(ymaxRaw)) / 2 ? 2 : 1);
  const px = (x: number) => L + ((Math.log10(Math.max(x, 10 ** xmin)) - xmin) / (xmax - xmin)) * (W - L - R);
  const py = (y: number) => T + (1 - (y * 100) / ymax) * (H - T - B);
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
  for (let e = xmin; e <= xmax; e++) {
    const x = px(10 ** e);
    out.push(
      `<line x1="${f(x)}" y1="${H - B}" x2="${f(x)}" y2="${H - B + 5}" stroke="black"/>`,
      `<text x="${f(x)}" y="${H - B + 18}" text-anchor="middle">${`1e${e}`}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const y = (ymax / 4) * i;
    out.push(
      `<line x1="${L - 5}" y1="${f(py(y / 100))}" x2="${W - R}" y2="${f(py(y / 100))}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${f(py(y / 100) + 4)}" text-anchor="end">${y.toPrecision(3)}%</text>`,
    );
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">NMI rate per CPU (per second, log scale)</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">allocation failure rate</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? "black";
    const pts = s.points.map((p) => `${f(px(p[0]))},${f(py(p[1]))}`).join(" ");
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    for (const p of s.points)
      out.push(`<circle cx="${f(px(p[0]))}" cy="${f(py(p[1]))}" r="3" fill="${color}"/>`);
    out.push(
      `<line x1="${W - R + 10}" y1="${T + 10 + i * 18}" x2="${W - R + 30}" y2="${T + 10 + i * 18}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 35}" y="${T + 14 + i * 18}">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
