/* The dashboard's per-minute chart (uPlot, static/vendor/uplot): loaded from
 * /api/events/stats/ for the chosen range, then kept current by the live frames' counts. */
(function () {
  "use strict";

  const REDRAW_EVERY_MS = 1000;
  const HEIGHT_PX = 240;
  const MINUTE_S = 60;

  const floorMinute = (seconds) => Math.floor(seconds / MINUTE_S) * MINUTE_S;
  const nowSeconds = () => Date.now() / 1000;

  function typeColor(type) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(`--type-${type}`);
    return value.trim() || "#868e96";
  }

  class MinuteChart {
    constructor(container, types) {
      this.container = container;
      this.types = types;
      this.rangeMinutes = 60;
      this.minutes = [];
      this.counts = new Map(); // minute (epoch s) -> {type: n}
      this.plot = null;
      this.redrawTimer = null;
      new ResizeObserver(() => this.resize()).observe(container);
    }

    /* Replaces the data with a stats answer ({since, until, per_minute}). */
    load(stats, rangeMinutes) {
      this.rangeMinutes = rangeMinutes;
      this.counts = new Map();
      for (const { minute, counts } of stats.per_minute) {
        this.counts.set(floorMinute(Date.parse(minute) / 1000), { ...counts });
      }
      this.draw();
    }

    /* Adds a live frame's type counts to the current minute. */
    add(typeCounts) {
      const minute = floorMinute(nowSeconds());
      const bucket = this.counts.get(minute) || {};
      for (const [type, n] of Object.entries(typeCounts)) bucket[type] = (bucket[type] || 0) + n;
      this.counts.set(minute, bucket);
      this.scheduleRedraw();
    }

    /* Events in the last 60 s: this minute plus the unexpired share of the previous one. */
    perMinute() {
      const now = nowSeconds();
      const minute = floorMinute(now);
      const total = (m) => Object.values(this.counts.get(m) || {}).reduce((a, b) => a + b, 0);
      const elapsed = (now - minute) / MINUTE_S;
      return Math.round(total(minute) + total(minute - MINUTE_S) * (1 - elapsed));
    }

    totalInRange() {
      const first = floorMinute(nowSeconds()) - (this.rangeMinutes - 1) * MINUTE_S;
      let total = 0;
      for (const [minute, counts] of this.counts) {
        if (minute >= first) for (const n of Object.values(counts)) total += n;
      }
      return total;
    }

    data() {
      const last = floorMinute(nowSeconds());
      const xs = [];
      for (let m = last - (this.rangeMinutes - 1) * MINUTE_S; m <= last; m += MINUTE_S) xs.push(m);
      for (const minute of this.counts.keys()) if (minute < xs[0]) this.counts.delete(minute);
      return [xs, ...this.types.map((type) => xs.map((m) => (this.counts.get(m) || {})[type] || 0))];
    }

    scheduleRedraw() {
      if (this.redrawTimer) return;
      this.redrawTimer = setTimeout(() => {
        this.redrawTimer = null;
        this.draw();
      }, REDRAW_EVERY_MS);
    }

    draw() {
      const data = this.data();
      if (this.plot) {
        this.plot.setData(data);
        return;
      }
      this.plot = new window.uPlot(this.options(), data, this.container);
    }

    options() {
      const axis = { stroke: "#596374", grid: { stroke: "#eef0f4" }, ticks: { stroke: "#dde2ea" } };
      return {
        width: this.container.clientWidth || 600,
        height: HEIGHT_PX,
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
        axes: [axis, { ...axis, size: 48 }],
        series: [
          { label: "Time" },
          ...this.types.map((type) => ({
            label: type,
            stroke: typeColor(type),
            width: 1.75,
            points: { show: false },
          })),
        ],
      };
    }

    resize() {
      if (this.plot) this.plot.setSize({ width: this.container.clientWidth, height: HEIGHT_PX });
    }
  }

  window.Mailpulse.MinuteChart = MinuteChart;
})();
