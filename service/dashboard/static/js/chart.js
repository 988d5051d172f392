// Member counts over time as step lines (uPlot, drawn on a canvas), in the page's colours.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { formatDate } from "./edtf.js";

const HEIGHT = 300;
const COUNTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const seconds = (iso) => Date.parse(`${iso}T00:00:00Z`) / 1000;
const day = (ts) => formatDate(new Date(ts * 1000).toISOString().slice(0, 10));
const stepped = uPlot.paths.stepped({ align: 1 });
const NO_POINTS = { show: false };

function axis(stroke, grid) {
  return { stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
}

/** One line per program (certain members), plus a dashed one where possible members differ. */
function layout(programs) {
  const dates = programs[0].points.map((point) => point.date);
  const data = [dates.map(seconds)];
  const series = [{ label: "End of", value: (plot, ts) => (ts == null ? "–" : day(ts)) }];
  for (const program of programs) {
    const byDate = new Map(program.points.map((point) => [point.date, point]));
    const certain = dates.map((date) => byDate.get(date)?.member_count ?? null);
    const possible = dates.map((date) => byDate.get(date)?.possible_member_count ?? null);
    const color = cssVar(program.color);
    const value = (plot, count) => (count == null ? "–" : String(count));
    data.push(certain);
    series.push({
      label: program.label, stroke: color, width: 2.5, paths: stepped, value, points: NO_POINTS,
    });
    if (possible.some((count, index) => count !== certain[index])) {
      data.push(possible);
      series.push({
        label: `${program.label} (possible)`, stroke: color, width: 1.5, dash: [6, 5],
        paths: stepped, value, points: NO_POINTS,
      });
    }
  }
  return { data, series };
}

export class MemberChart {
  constructor(container) {
    this.container = container;
    this.plot = null;
    this.programs = [];
    new ResizeObserver(() => this.resize()).observe(container);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.draw());
  }

  /** Show `programs`: [{label, color (a CSS variable), points: [{date, member_count, ...}]}]. */
  show(programs) {
    this.programs = programs.filter((program) => program.points.length > 0);
    this.draw();
  }

  draw() {
    this.plot?.destroy();
    this.plot = null;
    this.container.replaceChildren();
    if (this.programs.length === 0) {
      const empty = document.createElement("p");
      empty.className = "chart-empty";
      empty.textContent = "No program had been established by this date.";
      this.container.append(empty);
      return;
    }
    const { data, series } = layout(this.programs);
    const muted = cssVar("--muted");
    const grid = cssVar("--grid");
    const options = {
      width: Math.max(this.container.clientWidth, 240),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { y: { range: (plot, min, max) => [0, Math.max(5, Math.ceil((max * 1.1) / 5) * 5)] } },
      axes: [axis(muted, grid), { ...axis(muted, grid), incrs: COUNTS, size: 44 }],
      series,
      cursor: { points: { size: 7 } },
      legend: { live: true },
      // Away from the cursor, the legend shows the latest counts.
      hooks: { setCursor: [(plot) => plot.cursor.idx == null && plot.setLegend({ idx: last })] },
    };
    const last = data[0].length - 1;
    this.plot = new uPlot(options, data, this.container);
    this.plot.setLegend({ idx: last });
  }

  resize() {
    if (!this.plot) return;
    const width = Math.max(this.container.clientWidth, 240);
    if (width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
  }
}
