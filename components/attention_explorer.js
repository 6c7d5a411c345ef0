// The attention explorer: one layer's head heatmap and a query token's bars, redrawn in the page on every pick.
//
// The server sends every head's map of the layer and their average once per (prompt, layer, hide-the-sink)
// (components/attention_explorer.py: the visible cells as whole-number codes that keep every shown number exact).
// Picking another head or query token redraws here at once: no round trip. The server hears the pick right after,
// so the link, the overview's square and the grids below follow. Text from the model is only ever set as
// textContent: it stays inert.

const NO_WEIGHT = 65535;
const AVERAGE = "avg";
const PICK_PAUSE_MS = 300; // picks closer together than this (arrow keys on a closed select) are one: the server hears the last
let instances = 0;

// ---- numbers, as the Python page formats them -------------------------------------------------------------------

function decodeCells(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Uint16Array(bytes.buffer); // little-endian uint16 codes, map after map, row by row
}

// Where query q's row starts in one map: row q holds the keys offset..q.
const rowStart = (q, offset) => (offset ? (q * (q - 1)) / 2 : (q * (q + 1)) / 2);
const mapSize = (T, offset) => rowStart(T, offset);

// A code is 2 x thousandths + (1 when the percent rounds up from a thousandth ending in 5).
const thousandths = (code) => code >> 1;
const percentOf = (code) => {
  const r = code >> 1;
  return r % 10 === 5 ? (r - 5) / 10 + (code & 1) : Math.floor(r / 10 + 0.5);
};
// "0.123": the hover's weight (plotly's %{z:.3f}), written from the whole number, so no float is rounded twice.
const weightText = (code) => {
  const r = thousandths(code);
  return `${Math.floor(r / 1000)}.${String(r % 1000).padStart(3, "0")}`;
};
const percentText = (code) => `${percentOf(code)}%`; // the bars' f"{w:.0%}"

// The colour of value v in [0, 1] on a plotly colour scale ([[position, "rgb(r, g, b)" or "#rrggbb"], ...]).
function parseColour(text) {
  if (text.startsWith("#")) {
    const n = parseInt(text.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  return text.match(/[\d.]+/g).slice(0, 3).map(Number);
}

function scaleColour(stops, v) {
  const x = Math.min(1, Math.max(0, v));
  for (let i = 1; i < stops.length; i++) {
    if (x <= stops[i].at || i === stops.length - 1) {
      const a = stops[i - 1];
      const b = stops[i];
      const f = b.at > a.at ? (x - a.at) / (b.at - a.at) : 0;
      return a.rgb.map((c, j) => Math.round(c + f * (b.rgb[j] - c)));
    }
  }
  return stops[0].rgb;
}

// ---- the view ----------------------------------------------------------------------------------------------------

class AttentionView {
  constructor(parent) {
    this.parent = parent;
    this.id = "nte-att-" + ++instances;
    this.root = parent.querySelector(".nte-attention") || parent.appendChild(el("div", { class: "nte-attention" }));
    this.root.replaceChildren();
    this.setStateValue = () => {};
    this.source = null;
    this.sent = new Set(); // picks sent to the server and not yet echoed back
    this.lastDataKey = null;
    this.drawnKey = null;
    this.pending = null;
    this.timings = window.__nteAttention || (window.__nteAttention = { timings: [], draws: 0, commits: 0, mounts: 0 });
    this.timings.mounts += 1;
    this.resize = new ResizeObserver(() => this.data && this.draw());
    this.resize.observe(this.root);
  }

  destroy() {
    clearTimeout(this.pending);
    this.resize.disconnect();
  }

  // New data from the server: another prompt, layer or sink view, or a pick the server made (a link, the overview).
  receive(data) {
    if (!data || !data.cells) return;
    this.data = data;
    this.root.explorerData = data; // what the server sent, for a test to compare with core's maps
    const fresh = data.source !== this.source;
    if (fresh) {
      this.source = data.source;
      this.codes = decodeCells(data.cells);
      this.size = mapSize(data.length, data.offset);
      this.stops = data.colours.scale.map(([at, c]) => ({ at, rgb: parseColour(c) }));
      if (!this.head) this.build();
      this.fillOptions();
    }
    const key = JSON.stringify(data.selected);
    if (!this.selected || (key !== this.lastDataKey && !this.sent.has(key))) {
      this.selected = { ...data.selected };
      this.sent.clear();
    }
    this.sent.delete(key);
    if (this.selected.query >= data.length) this.selected.query = data.length - 1;
    if (key !== this.lastDataKey) this.heard = key; // the server's own pick (or the echo of ours)
    this.lastDataKey = key;
    this.root.classList.toggle("presenter", !!data.presenter);
    this.setControls();
    const drawKey = `${data.source}|${JSON.stringify(this.selected)}|${!!data.presenter}`;
    if (drawKey !== this.drawnKey) this.draw();
  }

  build() {
    this.root.replaceChildren();
    const headBox = this.root.appendChild(el("div", { class: "control" }));
    headBox.appendChild(el("label", { for: this.id + "-head" }, "Head"));
    this.head = headBox.appendChild(el("select", { id: this.id + "-head", "data-testid": "nte-attention-head" }));
    this.listen(this.head);
    this.heatBox = this.root.appendChild(el("div", { class: "chart heatmap", "data-testid": "nte-attention-heatmap" }));
    this.heatBox.style.position = "relative";
    this.tooltip = this.root.appendChild(el("div", { class: "tooltip", role: "status" }));
    this.tooltip.hidden = true;
    this.root.appendChild(
      el(
        "p",
        { class: "caption" },
        "Rows: the token looking (query). Columns: the token looked at (key). Grey: masked future tokens.",
      ),
    );
    this.heatDetails = this.root.appendChild(el("details", { class: "table heatmap-table" }));
    this.heatDetails.appendChild(el("summary", {}, "Heatmap as a table"));
    this.heatCaption = this.heatDetails.appendChild(el("p", { class: "caption" }));
    this.heatTable = this.heatDetails.appendChild(el("div", { class: "scroll" })).appendChild(el("table"));
    this.heatDetails.addEventListener("toggle", () => this.heatDetails.open && this.fillHeatTable());

    this.root.appendChild(el("h3", {}, "What does this token look at?"));
    const queryBox = this.root.appendChild(el("div", { class: "control" }));
    queryBox.appendChild(el("label", { for: this.id + "-query" }, "Query token"));
    this.query = queryBox.appendChild(el("select", { id: this.id + "-query", "data-testid": "nte-attention-query" }));
    this.listen(this.query);
    this.note = this.root.appendChild(el("p", { class: "info", role: "note" }));
    this.barsBox = this.root.appendChild(el("div", { class: "chart bars", "data-testid": "nte-attention-bars" }));
    this.barDetails = this.root.appendChild(el("details", { class: "table bars-table" }));
    this.barDetails.appendChild(el("summary", {}, "Bars as a table"));
    this.barCaption = this.barDetails.appendChild(el("p", { class: "caption" }));
    this.barTable = this.barDetails.appendChild(el("div", { class: "scroll" })).appendChild(el("table"));
    this.barDetails.addEventListener("toggle", () => this.barDetails.open && this.fillBarTable());
  }

  // A pick by pointer is heard at once; arrow keys on a closed select step through options, so the server hears the
  // last one after a pause, or as soon as the focus leaves (a click elsewhere is heard after the pick).
  listen(select) {
    select.addEventListener("pointerdown", () => (this.keyboard = false));
    select.addEventListener("keydown", () => (this.keyboard = true));
    select.addEventListener("change", (event) => this.onPick(event));
    select.addEventListener("blur", () => this.pending && this.commit());
  }

  commit() {
    clearTimeout(this.pending);
    this.pending = null;
    const picked = { ...this.selected };
    const key = JSON.stringify(picked);
    if (key === this.heard) return;
    this.heard = key;
    this.sent.add(key);
    this.timings.commits += 1;
    this.setStateValue("picked", picked);
  }

  fillOptions() {
    const d = this.data;
    const heads = [el("option", { value: AVERAGE }, "average over heads")];
    for (let h = 0; h < d.heads; h++) heads.push(el("option", { value: String(h) }, `head ${h}`));
    this.head.replaceChildren(...heads);
    const queries = d.tokens.map((t, q) => el("option", { value: String(q) }, `${q} ${t}`));
    this.query.replaceChildren(...queries);
  }

  setControls() {
    const s = this.selected;
    this.head.value = s.head === null ? AVERAGE : String(s.head);
    this.query.value = String(s.query);
  }

  // A select changed: redraw at once, time it from the change to the next painted frame, then tell the server.
  onPick(event) {
    const started = event && event.timeStamp ? event.timeStamp : performance.now();
    const head = this.head.value === AVERAGE ? null : Number(this.head.value);
    this.selected = { head, query: Number(this.query.value) };
    this.draw();
    const drawn = performance.now();
    const timings = this.timings;
    requestAnimationFrame(() =>
      setTimeout(() => {
        timings.timings.push({ input: started, drawn, painted: performance.now(), what: event.target === this.head ? "head" : "query" });
        if (timings.timings.length > 1000) timings.timings.shift();
      }, 0),
    );
    clearTimeout(this.pending);
    if (this.keyboard) this.pending = setTimeout(() => this.commit(), PICK_PAUSE_MS);
    else this.commit();
  }

  mapIndex() {
    return this.selected.head === null ? this.data.heads : this.selected.head;
  }

  // The code of cell (q, k) of map m (k: the column, token k + offset), or null where nothing is drawn.
  code(m, q, k) {
    if (k + this.data.offset > q) return null;
    const c = this.codes[m * this.size + rowStart(q, this.data.offset) + k];
    return c === NO_WEIGHT ? null : c;
  }

  title() {
    return this.data.titles[this.mapIndex()];
  }

  label(position) {
    return `${position} ${this.data.tokens[position]}`;
  }

  draw() {
    const d = this.data;
    const s = this.selected;
    this.drawHeatmap();
    const q = s.query;
    const empty = d.offset > 0 && q === 0;
    this.note.hidden = !empty;
    this.note.textContent = empty
      ? "The first token can only look at itself; with it hidden there is nothing left to show."
      : "";
    this.barsBox.hidden = empty;
    this.barDetails.hidden = empty;
    if (!empty) this.drawBars();
    if (this.heatDetails.open) this.fillHeatTable();
    if (this.barDetails.open && !empty) this.fillBarTable();
    this.root.dataset.head = s.head === null ? AVERAGE : String(s.head);
    this.root.dataset.query = String(q);
    this.drawnKey = `${d.source}|${JSON.stringify(s)}|${!!d.presenter}`;
    this.timings.draws += 1;
  }

  fonts() {
    const presenter = !!this.data.presenter;
    const font = presenter ? 19 : 12;
    return { font, titleFont: presenter ? 23 : 16 };
  }

  drawHeatmap() {
    const d = this.data;
    const { font, titleFont } = this.fonts();
    const T = d.length;
    const K = T - d.offset;
    const m = this.mapIndex();
    const title = this.title();
    const longest = Math.max(...d.tokens.map((t, i) => truncate(this.label(i), 18).length));
    const labelW = longest * font * 0.56 + 6;
    const left = labelW + font + 12;
    const bottom = labelW * 0.87 + font * 0.6 + font + 16; // labels at -60 degrees, then the axis title
    const top = titleFont + 20;
    const right = 70;
    const width = Math.max(300, this.heatBox.clientWidth || this.root.clientWidth || 600);
    const height = Math.max(Math.min(900, Math.max(320, 26 * Math.max(T, 4) + 160)), top + bottom + 80);
    const plotW = Math.max(40, width - left - right);
    const plotH = Math.max(40, height - top - bottom);
    // the largest weight shown is the top of the colour scale (plotly's zmax = None)
    let zmax = 0;
    const base = m * this.size;
    for (let i = 0; i < this.size; i++) {
      const c = this.codes[base + i];
      if (c !== NO_WEIGHT && c >> 1 > zmax) zmax = c >> 1;
    }
    const lut = [];
    for (let r = 0; r <= 1000; r++) lut.push(scaleColour(this.stops, zmax > 0 ? r / zmax : 0));
    const masked = parseColour(d.colours.masked);
    const canvas = el("canvas", { width: String(K), height: String(T), "aria-hidden": "true" });
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(K, T);
    const px = image.data;
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < K; k++) {
        const c = this.code(m, q, k);
        const rgb = c === null ? masked : lut[c >> 1];
        const at = (q * K + k) * 4;
        px[at] = rgb[0];
        px[at + 1] = rgb[1];
        px[at + 2] = rgb[2];
        px[at + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    Object.assign(canvas.style, {
      position: "absolute",
      left: `${left}px`,
      top: `${top}px`,
      width: `${plotW}px`,
      height: `${plotH}px`,
      imageRendering: "pixelated",
    });
    const svg = svgEl("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Attention heatmap, ${title}: ${T} query tokens by ${K} key tokens; ` +
        "the table below lists every weight",
      class: "nte-heatmap",
    });
    svg.appendChild(svgEl("text", { x: 4, y: titleFont + 2, class: "title", "font-size": titleFont }, title));
    const cellW = plotW / K;
    const cellH = plotH / T;
    const yEvery = Math.max(1, Math.ceil((font + 2) / cellH));
    for (let q = 0; q < T; q += yEvery) {
      const y = top + (q + 0.5) * cellH + font * 0.35;
      svg.appendChild(
        svgEl("text", { x: left - 6, y, "text-anchor": "end", "font-size": font, class: "ytick" }, truncate(this.label(q), 18)),
      );
    }
    const xEvery = Math.max(1, Math.ceil((font + 2) / cellW));
    for (let k = 0; k < K; k += xEvery) {
      const x = left + (k + 0.5) * cellW;
      const y = top + plotH + 6;
      svg.appendChild(
        svgEl(
          "text",
          { x, y, "text-anchor": "end", "font-size": font, transform: `rotate(-60 ${x} ${y})`, class: "xtick" },
          truncate(this.label(k + d.offset), 18),
        ),
      );
    }
    svg.appendChild(
      svgEl(
        "text",
        { x: left + plotW / 2, y: height - 6, "text-anchor": "middle", "font-size": font },
        "key (the token looked at)",
      ),
    );
    svg.appendChild(
      svgEl(
        "text",
        {
          x: 0,
          y: 0,
          "text-anchor": "middle",
          "font-size": font,
          transform: `translate(${font}, ${top + plotH / 2}) rotate(-90)`,
        },
        "query (the token looking)",
      ),
    );
    // colour bar: 0 to the largest weight shown
    const gradient = `${this.id}-scale`;
    const defs = svg.appendChild(svgEl("defs"));
    const lg = defs.appendChild(svgEl("linearGradient", { id: gradient, x1: 0, y1: 1, x2: 0, y2: 0 }));
    for (const stop of this.stops) {
      lg.appendChild(svgEl("stop", { offset: stop.at, "stop-color": `rgb(${stop.rgb.join(",")})` }));
    }
    const barX = left + plotW + 16;
    svg.appendChild(svgEl("rect", { x: barX, y: top, width: 12, height: plotH, fill: `url(#${gradient})` }));
    const top3 = zmax / 1000;
    if (top3 > 0) {
      const step = niceStep(top3, 5);
      for (let v = 0; v <= top3 + 1e-9; v += step) {
        const y = top + plotH - (v / top3) * plotH;
        svg.appendChild(svgEl("text", { x: barX + 16, y: y + font * 0.35, "font-size": font }, String(Number(v.toFixed(3)))));
      }
    }
    svg.appendChild(svgEl("text", { x: barX, y: top - 6, "font-size": font }, "weight"));
    this.heatBox.replaceChildren(svg, canvas);
    this.heatGeometry = { left, top, plotW, plotH, T, K, m };
    canvas.addEventListener("mousemove", (event) => this.hover(event));
    canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
  }

  hover(event) {
    const g = this.heatGeometry;
    const q = Math.floor((event.offsetY / g.plotH) * g.T);
    const k = Math.floor((event.offsetX / g.plotW) * g.K);
    const c = q >= 0 && q < g.T && k >= 0 && k < g.K ? this.code(g.m, q, k) : null;
    if (c === null) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.textContent =
      `query ${this.label(q)}\nlooks at key ${this.label(k + this.data.offset)}\nweight ${weightText(c)}`;
    this.tooltip.hidden = false;
    const box = this.root.getBoundingClientRect();
    this.tooltip.style.left = `${event.clientX - box.left + 12}px`;
    this.tooltip.style.top = `${event.clientY - box.top + 12}px`;
  }

  barsTitle() {
    const q = this.selected.query;
    return `Attention of ${this.label(q)} in ${this.title()}`;
  }

  // The query's keys as [position, code] pairs (positions offset..query).
  queryRow() {
    const d = this.data;
    const q = this.selected.query;
    const m = this.mapIndex();
    const row = [];
    for (let k = 0; k + d.offset <= q; k++) {
      const c = this.code(m, q, k);
      row.push([k + d.offset, c === null ? 0 : c]);
    }
    return row;
  }

  drawBars() {
    const d = this.data;
    const { font, titleFont } = this.fonts();
    const row = this.queryRow();
    const title = this.barsTitle();
    const width = Math.max(300, this.barsBox.clientWidth || this.root.clientWidth || 600);
    const longest = Math.max(...row.map(([p]) => truncate(this.label(p), 18).length));
    const left = font * 4 + 12;
    const top = titleFont + 24;
    const bottom = longest * font * 0.56 * 0.87 + 14;
    const height = Math.round(360 * (d.presenter ? 1.3 : 1) + Math.max(0, bottom - 90));
    const plotW = Math.max(40, width - left - 16);
    const plotH = Math.max(60, height - top - bottom);
    const high = Math.max(...row.map(([, c]) => thousandths(c) / 1000), 0.05);
    const yMax = Math.min(1, high * 1.25);
    const y = (w) => top + plotH - (w / yMax) * plotH;
    const svg = svgEl("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `${title}: one bar for each of ${row.length} key tokens; the table below lists them`,
      class: "nte-query-bars",
    });
    svg.appendChild(svgEl("text", { x: 4, y: titleFont + 2, class: "title", "font-size": titleFont }, title));
    const step = niceStep(yMax, 5);
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      svg.appendChild(svgEl("line", { x1: left, x2: left + plotW, y1: y(v), y2: y(v), stroke: d.colours.grid }));
      svg.appendChild(
        svgEl("text", { x: left - 6, y: y(v) + font * 0.35, "text-anchor": "end", "font-size": font }, `${Math.round(v * 100)}%`),
      );
    }
    svg.appendChild(
      svgEl(
        "text",
        { x: 0, y: 0, "text-anchor": "middle", "font-size": font, transform: `translate(${font}, ${top + plotH / 2}) rotate(-90)` },
        "attention weight",
      ),
    );
    const slot = plotW / Math.max(1, row.length);
    const barW = Math.max(1, slot * 0.8);
    const textEvery = Math.max(1, Math.ceil((font * 2.2) / slot));
    const labelEvery = Math.max(1, Math.ceil((font + 2) / slot));
    row.forEach(([position, c], i) => {
      const w = thousandths(c) / 1000;
      const x = left + i * slot + (slot - barW) / 2;
      const g = svgEl("g", { class: "bar", "data-key": position, "data-weight": weightText(c) });
      const rect = g.appendChild(svgEl("rect", { x, y: y(w), width: barW, height: top + plotH - y(w), fill: d.colours.bar }));
      rect.appendChild(svgEl("title", {}, `key ${this.label(position)}\nweight ${weightText(c)}`));
      const text = svgEl(
        "text",
        { x: x + barW / 2, y: y(w) - 4, "text-anchor": "middle", "font-size": font, class: "value" },
        percentText(c),
      );
      if (i % textEvery) text.setAttribute("visibility", "hidden"); // too narrow: the table has every value
      g.appendChild(text);
      if (i % labelEvery === 0) {
        const lx = x + barW / 2;
        const ly = top + plotH + 6;
        g.appendChild(
          svgEl(
            "text",
            { x: lx, y: ly, "text-anchor": "end", "font-size": font, transform: `rotate(-60 ${lx} ${ly})`, class: "key" },
            truncate(this.label(position), 18),
          ),
        );
      }
      svg.appendChild(g);
    });
    svg.appendChild(svgEl("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, stroke: d.colours.guide }));
    this.barsBox.replaceChildren(svg);
  }

  fillHeatTable() {
    const d = this.data;
    const m = this.mapIndex();
    const K = d.length - d.offset;
    this.heatCaption.textContent =
      `${this.title()}: one row per query token, one column per key token; an empty cell is masked.`;
    const head = el("tr");
    head.appendChild(el("th", { scope: "col" }, "query \\ key"));
    for (let k = 0; k < K; k++) head.appendChild(el("th", { scope: "col" }, this.label(k + d.offset)));
    const body = [];
    for (let q = 0; q < d.length; q++) {
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, this.label(q)));
      for (let k = 0; k < K; k++) {
        const c = this.code(m, q, k);
        tr.appendChild(el("td", {}, c === null ? "" : weightText(c)));
      }
      body.push(tr);
    }
    this.heatTable.replaceChildren(el("thead"), el("tbody"));
    this.heatTable.firstChild.appendChild(head);
    this.heatTable.lastChild.replaceChildren(...body);
  }

  fillBarTable() {
    const row = this.queryRow();
    this.barCaption.textContent = `${this.barsTitle()}: ${row.length} key tokens.`;
    const head = el("tr");
    for (const h of ["key token", "attention weight", "percent"]) head.appendChild(el("th", { scope: "col" }, h));
    const body = row.map(([position, c]) => {
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, this.label(position)));
      tr.appendChild(el("td", {}, weightText(c)));
      tr.appendChild(el("td", {}, percentText(c)));
      return tr;
    });
    this.barTable.replaceChildren(el("thead"), el("tbody"));
    this.barTable.firstChild.appendChild(head);
    this.barTable.lastChild.replaceChildren(...body);
  }
}

export default (component) => mountView(component, AttentionView);
