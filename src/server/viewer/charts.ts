/**
 * The viewer's charts (a fragment of the viewer script, run inside its closure): events over
 * time stacked by category, guardrail blocks and authentication failures, from `GET /v1/stats`,
 * drawn as inline SVG with DOM calls (no chart library, no markup strings). Each bar carries a
 * `<title>` with its count and time; each chart's `data-total` holds its sum.
 */
export const CHARTS_JS = `
  const SVG = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#3867d6', '#20bf6b', '#f7b731', '#8854d0', '#0fb9b1', '#eb3b5a', '#fa8231', '#4b6584', '#a5b1c2', '#2d98da'];
  const W = 480, H = 110, PAD = 22;

  function svgEl(name, attrs) {
    const el = document.createElementNS(SVG, name);
    for (const k in attrs) el.setAttribute(k, String(attrs[k]));
    return el;
  }

  function label(svg, x, y, text, anchor) {
    const t = svgEl('text', { x, y, 'font-size': 10, fill: '#5b6478', 'text-anchor': anchor || 'start' });
    t.textContent = text;
    svg.appendChild(t);
  }

  const shortTime = (ms, span) => {
    const iso = new Date(ms).toISOString();
    return span > 86400000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(11, 16);
  };

  // series: [{ name, color, values[] }] stacked per bucket.
  function chart(box, title, stats, series) {
    box.textContent = '';
    const n = stats.authFailures.length;
    const sums = Array.from({ length: n }, (_, i) => series.reduce((s, x) => s + x.values[i], 0));
    const max = Math.max(1, ...sums);
    const total = sums.reduce((a, b) => a + b, 0);
    const h3 = document.createElement('h3');
    h3.textContent = title + ': ' + total;
    box.appendChild(h3);
    const svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'data-total': total });
    svg.setAttribute('aria-label', title + ', ' + total + ' in the window');
    const bw = (W - PAD) / n;
    const start = Date.parse(stats.from);
    for (let i = 0; i < n; i++) {
      let y = H - PAD;
      for (const s of series) {
        const v = s.values[i];
        if (!v) continue;
        const h = (v / max) * (H - 2 * PAD);
        y -= h;
        const r = svgEl('rect', { x: PAD + i * bw + 1, y, width: Math.max(1, bw - 2), height: h, fill: s.color });
        const tip = svgEl('title', {});
        tip.textContent = s.name + ': ' + v + ' from ' + new Date(start + i * stats.bucketMs).toISOString();
        r.appendChild(tip);
        svg.appendChild(r);
      }
    }
    svg.appendChild(svgEl('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, stroke: '#a5b1c2' }));
    label(svg, PAD - 3, PAD, String(max), 'end');
    label(svg, PAD - 3, H - PAD, '0', 'end');
    const span = Date.parse(stats.to) - start;
    label(svg, PAD, H - 6, shortTime(start, span));
    label(svg, W, H - 6, shortTime(Date.parse(stats.to), span) + ' UTC', 'end');
    box.appendChild(svg);
    if (series.length > 1) {
      const legend = document.createElement('div');
      legend.className = 'legend';
      for (const s of series) {
        const item = document.createElement('span');
        const swatch = document.createElement('i');
        swatch.style.background = s.color;
        item.append(swatch, s.name + ' ' + s.values.reduce((a, b) => a + b, 0));
        legend.appendChild(item);
      }
      box.appendChild(legend);
    }
  }

  async function loadCharts() {
    let stats;
    try { stats = await api('/v1/stats?buckets=24&since=' + encodeURIComponent($('chart-window').value)); }
    catch (e) { $('chart-events').textContent = 'charts: ' + e.message; return; }
    const names = Object.keys(stats.categories).sort();
    chart($('chart-events'), 'Events by category', stats,
      names.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length], values: stats.categories[name] })));
    chart($('chart-blocks'), 'Guardrail blocks', stats, [{ name: 'blocked', color: '#eb3b5a', values: stats.guardrailBlocks }]);
    chart($('chart-auth'), 'Authentication failures', stats, [{ name: 'auth.failure', color: '#fa8231', values: stats.authFailures }]);
  }
`;
