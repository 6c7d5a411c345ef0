// The client-side sampler: the sampler's controls, bars and numbers, recomputed in the page on every move.
//
// The server sends the whole vocabulary's logits once per prompt (components/client_sampler.py: float32, most
// likely first). A move of temperature, top-k or top-p re-filters them here exactly as core.sampling does
// (temperature -> top-k -> top-p, transformers' warpers, T = 0 greedy, at least one token kept) and redraws plain
// SVG: no round trip to the server. The server hears the settings once, when the user lets go (pointer released,
// a pause after the last key, the focus leaving), so links and seeded samples follow. Text from the model is only
// ever set as textContent: it stays inert.

const LN2 = Math.log(2);
const KEY_PAUSE_MS = 600; // keyboard steps closer together than this are one move: the server hears the last
const fround = Math.fround;

// ---- numbers, as core.sampling computes them ----------------------------------------------------------------

function decodeLogits(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Float32Array(bytes.buffer); // (V,) little-endian float32, most likely first
}

// The sampler's distribution over the vocabulary laid out most likely first.
// scores: a (V,) Float32Array work buffer; probs: a (V,) Float64Array of float32-rounded probabilities.
// Returns {kept, entropyBits, total}: tokens with a probability above 0, entropy in bits, the sum of probs.
function samplingProbs(logits, temperature, topK, topP, scores, probs) {
  const V = logits.length;
  probs.fill(0);
  if (temperature === 0) { // greedy: only the argmax (the first of a tie: position 0) keeps its logit
    probs[0] = 1;
    return { kept: 1, entropyBits: 0, total: 1 };
  }
  const t = fround(temperature);
  for (let i = 0; i < V; i++) scores[i] = logits[i] / t; // float32 division, as the temperature warper
  let keep = V; // the kept tokens are always a prefix of this layout (the scores never increase)
  if (topK > 0) { // transformers: remove scores below the k-th highest (ties with it stay)
    keep = Math.min(topK, V);
    const kth = scores[keep - 1];
    while (keep < V && scores[keep] >= kth) keep++;
  }
  const top = scores[0];
  let sum = 0;
  for (let i = 0; i < keep; i++) {
    const e = fround(Math.exp(fround(scores[i] - top)));
    probs[i] = e;
    sum += e;
  }
  if (topP < 1) { // transformers: cumulative sums from the least likely up (float64, as torch's CPU cumsum);
    // remove while the sum is <= 1 - top_p (in float32); the most likely token is always kept
    const threshold = fround(1 - topP);
    let tail = 0;
    let cut = keep;
    for (let i = keep - 1; i >= 1; i--) {
      tail += fround(probs[i] / sum);
      if (fround(tail) <= threshold) cut = i;
      else break;
    }
    for (let i = cut; i < keep; i++) probs[i] = 0;
    sum = 0;
    for (let i = 0; i < cut; i++) sum += probs[i];
    keep = cut;
  }
  let kept = 0;
  let total = 0;
  let nats = 0;
  for (let i = 0; i < keep; i++) {
    const p = fround(probs[i] / sum); // the softmax of the filtered logits, in float32
    probs[i] = p;
    if (p > 0) {
      kept++;
      total += p;
      nats -= p * Math.log(p);
    }
  }
  return { kept, entropyBits: Math.max(0, nats / LN2), total };
}

// Entropy in bits of softmax(logits / T) (core.temperature.entropy_curve's value at one T).
function entropyAt(logits, temperature, scores, probs) {
  return samplingProbs(logits, temperature, 0, 1, scores, probs).entropyBits;
}

// ---- text, as the Python pages format it -----------------------------------------------------------------------

// Python's f"{x:.{d}f}": toFixed agrees for d >= 1 (a tie would need an exact binary value ending in 5 at that
// decimal, which no double has).
const fixed = (x, d) => x.toFixed(d);
const percent1 = (p) => fixed(p * 100, 1) + "%"; // f"{p:.1%}"
const withCommas = (text) => {
  const [whole, part] = text.split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + digits + (part !== undefined ? "." + part : "");
};
const count = (n) => withCommas(String(n)); // f"{n:,}"
const general = (x) => String(Number(x.toPrecision(6))); // f"{x:g}" for the controls' ranges

// The notes core's sampling_notes (components/explain.py) writes for these settings.
function samplingNotes(vocab, temperature, topK, topP) {
  const notes = [];
  if (temperature === 0) {
    notes.push("Temperature 0 is greedy decoding: the most likely token gets probability 1, every other 0.");
  }
  if (topK >= vocab) {
    notes.push(`Top-k = ${count(topK)} is at least the vocabulary size (${count(vocab)}), so it keeps every token.`);
  }
  if (topP === 0) {
    notes.push(
      "Top-p = 0 would keep nothing, so the sampler keeps the single most likely token (always at least one).",
    );
  }
  return notes;
}

// ---- the view --------------------------------------------------------------------------------------------------

class SamplerView {
  constructor(parent) {
    this.parent = parent;
    this.root = parent.querySelector(".nte-sampler") || parent.appendChild(el("div", { class: "nte-sampler" }));
    this.root.replaceChildren();
    this.setStateValue = () => {};
    this.source = null;
    this.committedKey = null;
    this.lastDataKey = null;
    this.pending = null;
    this.pointer = false;
    this.curves = new Map(); // the entropy curve per grid end, for this prompt
    this.pagesTimings = window.__nteSampler || (window.__nteSampler = { timings: [], draws: 0, commits: 0 });
    this.resize = new ResizeObserver(() => this.data && this.draw());
    this.resize.observe(this.root);
  }

  destroy() {
    clearTimeout(this.pending);
    clearTimeout(this.curveTimer);
    this.resize.disconnect();
  }

  // New data from the server: a new prompt, other rows, or settings the server changed (a lesson, a link).
  receive(data) {
    if (!data || !data.logits) return;
    const first = !this.data || this.data.page !== data.page;
    this.data = data;
    this.root.samplerData = data; // what the server sent, for a test to recompute with core.sampling
    if (data.source !== this.source) {
      this.source = data.source;
      this.logits = decodeLogits(data.logits);
      this.scores = new Float32Array(this.logits.length);
      this.probs = new Float64Array(this.logits.length);
      this.work = new Float64Array(this.logits.length);
      this.curves.clear();
    }
    const dataKey = JSON.stringify(data.settings);
    if (first) this.build();
    if (first || (dataKey !== this.lastDataKey && dataKey !== this.committedKey)) {
      this.settings = { ...data.settings };
      this.committedKey = dataKey;
      this.setControls();
    }
    this.lastDataKey = dataKey;
    this.root.classList.toggle("presenter", !!data.presenter);
    this.draw();
  }

  build() {
    const d = this.data;
    this.root.replaceChildren();
    const controls = this.root.appendChild(el("div", { class: "controls" }));
    const tMax = d.bounds.max_temperature;
    const label = d.page === "temperature" ? "Temperature T" : "Temperature";
    const help = d.page === "temperature"
      ? "0 = greedy."
      : "Divides the logits before softmax. 0 = greedy (always the top token).";
    this.temperature = this.slider(controls, "temperature", label, 0, tMax, 0.05, help);
    if (d.page === "next_token") {
      const box = controls.appendChild(el("div", { class: "control" }));
      const id = "nte-top-k";
      box.appendChild(el("label", { for: id }, "Top-k (0 = off)"));
      this.topK = box.appendChild(
        el("input", {
          id,
          type: "number",
          min: "0",
          max: String(d.bounds.max_top_k),
          step: "1",
          inputmode: "numeric",
          "aria-describedby": id + "-help",
        }),
      );
      box.appendChild(el("small", { id: id + "-help", class: "help" }, "Keep only the k most likely tokens."));
      this.topKError = box.appendChild(el("small", { class: "error", role: "alert" }));
      this.topK.addEventListener("keydown", () => (this.pointer = false));
      this.topK.addEventListener("input", (event) => this.onTopK(event, false));
      this.topK.addEventListener("change", (event) => this.onTopK(event, true));
      this.topP = this.slider(
        controls,
        "top_p",
        "Top-p (1 = off)",
        0,
        1,
        0.01,
        "Keep the smallest set of top tokens whose probability adds up to p.",
      );
    }
    this.notes = this.root.appendChild(el("div", { class: "notes", "aria-live": "polite" }));
    const charts = this.root.appendChild(el("div", { class: "charts " + d.page }));
    this.barsBox = charts.appendChild(el("div", { class: "chart bars", "data-testid": "nte-sampler-bars" }));
    if (d.page === "temperature") {
      const right = charts.appendChild(el("div", { class: "chart curve" }));
      this.curveBox = right.appendChild(el("div", { "data-testid": "nte-sampler-curve" }));
      this.caption = right.appendChild(el("p", { class: "caption", "data-testid": "nte-sampler-caption" }));
    }
    if (d.page === "next_token") {
      const metrics = this.root.appendChild(el("div", { class: "metrics" }));
      this.metric = {};
      const items = [
        ["model_entropy", "Entropy (model)", "How uncertain the model is about the next token."],
        ["effective", "Effective choices", "2 ** entropy: as uncertain as a fair choice among this many tokens."],
        ["entropy", "Entropy after sampling filters", null],
        [
          "kept",
          "Tokens the sampler can pick",
          "Tokens with a sampling probability above 0 after top-k and top-p (one at T = 0), of the vocabulary.",
        ],
      ];
      for (const [name, text, tip] of items) {
        const box = metrics.appendChild(el("div", { class: "metric", "data-metric": name }));
        box.appendChild(el("div", { class: "metric-label" }, text));
        this.metric[name] = box.appendChild(el("div", { class: "metric-value" }));
        if (tip) box.appendChild(el("div", { class: "metric-help" }, tip));
      }
    }
    const details = this.root.appendChild(el("details", { class: "table" }));
    details.appendChild(el("summary", {}, "Chart as a table"));
    this.tableCaption = details.appendChild(el("p", { class: "caption" }));
    this.table = details.appendChild(el("table"));
  }

  slider(parent, name, text, min, max, step, help) {
    const box = parent.appendChild(el("div", { class: "control" }));
    const id = "nte-" + name;
    const head = box.appendChild(el("div", { class: "control-head" }));
    head.appendChild(el("label", { for: id }, text));
    const value = head.appendChild(el("output", { for: id, class: "value" }));
    const input = box.appendChild(
      el("input", {
        id,
        type: "range",
        min: String(min),
        max: String(max),
        step: String(step),
        "aria-describedby": id + "-help",
      }),
    );
    box.appendChild(el("small", { id: id + "-help", class: "help" }, help));
    input.output = value;
    input.addEventListener("pointerdown", () => (this.pointer = true));
    input.addEventListener("keydown", () => (this.pointer = false));
    input.addEventListener("input", (event) => this.onSlide(event));
    input.addEventListener("change", () => this.commit(this.pointer));
    input.addEventListener("blur", () => this.pending && this.commit(true));
    return input;
  }

  setControls() {
    const s = this.settings;
    this.temperature.value = String(s.temperature);
    this.showValue(this.temperature, s.temperature);
    if (this.topK) {
      this.topK.value = String(s.top_k);
      this.topKError.textContent = "";
      this.topP.value = String(s.top_p);
      this.showValue(this.topP, s.top_p);
    }
  }

  showValue(input, value) {
    const text = input === this.topP ? fixed(value, 2) : fixed(value, 2);
    input.output.textContent = text;
    input.setAttribute("aria-valuetext", text);
  }

  onSlide(event) {
    const input = event.target;
    const value = parseFloat(input.value);
    if (input === this.temperature) this.settings.temperature = value;
    else this.settings.top_p = value;
    this.showValue(input, value);
    this.redraw(event);
  }

  onTopK(event, committed) {
    const text = this.topK.value.trim();
    const value = Number(text);
    const max = this.data.bounds.max_top_k;
    if (text === "" || !Number.isInteger(value) || value < 0 || value > max) {
      this.topKError.textContent = `Top-k must be a whole number from 0 to ${count(max)}.`;
      return;
    }
    this.topKError.textContent = "";
    this.settings.top_k = value;
    this.redraw(event);
    if (committed) this.commit(true);
  }

  // The server hears the settings: at once when the pointer let go or a box was committed, else after a pause.
  commit(now) {
    clearTimeout(this.pending);
    this.pending = null;
    const send = () => {
      this.pending = null;
      const key = JSON.stringify(this.settings);
      if (key === this.committedKey) return;
      this.committedKey = key;
      this.pagesTimings.commits += 1;
      this.setStateValue("settings", { ...this.settings });
    };
    if (now) send();
    else this.pending = setTimeout(send, KEY_PAUSE_MS);
  }

  // A control moved: recompute and redraw, and time it from the input event to the next painted frame.
  redraw(event) {
    const started = event && event.timeStamp ? event.timeStamp : performance.now();
    this.draw();
    const drawn = performance.now();
    const timings = this.pagesTimings;
    requestAnimationFrame(() =>
      setTimeout(() => {
        timings.timings.push({ input: started, drawn, painted: performance.now() });
        if (timings.timings.length > 1000) timings.timings.shift();
      }, 0),
    );
  }

  compute() {
    const d = this.data;
    const s = this.settings;
    const topK = d.page === "next_token" ? s.top_k : 0;
    const topP = d.page === "next_token" ? s.top_p : 1;
    const result = samplingProbs(this.logits, s.temperature, topK, topP, this.scores, this.probs);
    const rows = d.rows.map((row, i) => {
      const p = this.probs[row.position];
      return { rank: i + 1, label: row.label, id: row.token_id, model: row.model, sampling: p, kept: p > 0 };
    });
    if (d.model_rest !== null) {
      const keptListed = rows.filter((r) => r.kept).length;
      const keptRest = result.kept - keptListed;
      let listed = 0;
      for (const r of rows) listed += r.sampling;
      const rest = keptRest ? Math.max(0, result.total - listed) : 0;
      rows.push({ rank: 0, label: d.other_label, id: -1, model: d.model_rest, sampling: rest, kept: keptRest > 0 });
    }
    return { ...result, rows };
  }

  draw() {
    const d = this.data;
    const s = this.settings;
    const view = this.compute();
    this.view = view;
    const presenter = !!d.presenter;
    const title = d.page === "temperature"
      ? `T = 1 (model) beside T = ${general(s.temperature)}`
      : "Next-token probabilities";
    this.drawBars(view.rows, title, presenter);
    if (d.page === "next_token") {
      const notes = samplingNotes(d.vocab_size, s.temperature, s.top_k, s.top_p);
      this.notes.replaceChildren(...notes.map((n) => el("p", { class: "note" }, n)));
      this.metric.model_entropy.textContent = `${fixed(d.model_entropy_bits, 2)} bits`;
      this.metric.effective.textContent = withCommas(fixed(d.effective_choices, 1));
      this.metric.entropy.textContent = `${fixed(view.entropyBits, 2)} bits`;
      this.metric.kept.textContent = `${count(view.kept)} of ${count(d.vocab_size)}`;
    } else {
      this.drawCurve(s.temperature, view.entropyBits, presenter);
      const bits = view.entropyBits;
      this.caption.textContent =
        `Entropy at T = ${general(s.temperature)}: ${fixed(bits, 3)} bits, like a fair choice among ` +
        `${withCommas(fixed(2 ** bits, 2))} tokens. As T grows the curve climbs toward the uniform limit.`;
    }
    this.fillTable(view.rows, title);
    this.root.dataset.temperature = String(s.temperature);
    this.root.dataset.topK = String(s.top_k);
    this.root.dataset.topP = String(s.top_p);
    this.pagesTimings.draws += 1;
  }

  scale(presenter) {
    return presenter ? 1.45 : 1;
  }

  drawBars(rows, title, presenter) {
    const c = this.data.colours;
    const k = this.scale(presenter);
    const font = Math.max(presenter ? 19 : 12, Math.round(14 * k));
    const small = presenter ? font : Math.round(font * 0.9); // a projector's smallest text is still ~19 px
    const titleFont = Math.round(16 * k);
    const width = Math.max(280, this.barsBox.clientWidth || this.root.clientWidth || 600);
    const rowHeight = Math.round(38 * k * 2 / 1.4);
    const top = Math.round((titleFont + 44) * 1);
    const labelWidth = Math.min(
      Math.round(width * 0.42),
      Math.max(...rows.map((r) => truncate(this.rowLabel(r), 32).length)) * font * 0.58 + 12,
    );
    const right = Math.round(70 * k);
    const bottom = Math.round(46 * k);
    const height = Math.max(260 * k, rows.length * rowHeight + top + bottom);
    const plotW = Math.max(60, width - labelWidth - right);
    const high = Math.max(...rows.map((r) => Math.max(r.model, r.sampling)), 0);
    const xMax = Math.min(1, high * 1.25) + 0.02;
    const x = (p) => labelWidth + (p / xMax) * plotW;
    const svg = svgEl("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `${title}: model probability and sampling probability for ${rows.length} rows`,
      class: "nte-bars",
    });
    svg.appendChild(svgEl("text", { x: 4, y: titleFont + 4, class: "title", "font-size": titleFont }, title));
    // legend
    const legendY = titleFont + 24;
    let lx = 4;
    for (const [name, colour] of [["model probability", c.model], ["sampling probability (after filters)", c.sampling]]) {
      svg.appendChild(svgEl("rect", { x: lx, y: legendY - font * 0.8, width: font, height: font * 0.8, fill: colour }));
      const t = svgEl("text", { x: lx + font + 4, y: legendY, "font-size": small }, name);
      svg.appendChild(t);
      lx += font + 8 + name.length * font * 0.5;
    }
    // grid and ticks
    const step = niceStep(xMax, Math.max(3, Math.floor(plotW / 90)));
    const plotBottom = top + rows.length * rowHeight;
    for (let v = 0; v <= xMax + 1e-9; v += step) {
      const gx = x(v);
      svg.appendChild(svgEl("line", { x1: gx, x2: gx, y1: top, y2: plotBottom, stroke: c.grid }));
      const label = `${Math.round(v * 100)}%`;
      svg.appendChild(
        svgEl("text", { x: gx, y: plotBottom + font + 4, "text-anchor": "middle", "font-size": small }, label),
      );
    }
    svg.appendChild(
      svgEl(
        "text",
        { x: labelWidth + plotW / 2, y: plotBottom + 2 * font + 12, "text-anchor": "middle", "font-size": font },
        "probability",
      ),
    );
    const barH = rowHeight * 0.75 / 2;
    rows.forEach((r, i) => {
      const y0 = top + i * rowHeight + rowHeight * 0.125;
      const g = svgEl("g", {
        class: "row",
        "data-rank": r.rank,
        "data-kept": r.kept ? "1" : "0",
      });
      const full = this.rowLabel(r);
      const name = svgEl(
        "text",
        { x: labelWidth - 6, y: y0 + barH + font * 0.35, "text-anchor": "end", "font-size": font, class: "token" },
        truncate(full, 32),
      );
      name.appendChild(svgEl("title", {}, full));
      g.appendChild(name);
      const bars = [
        ["model", r.model, c.model, percent1(r.model)],
        ["sampling", r.sampling, r.kept ? c.sampling : c.cut, r.kept ? percent1(r.sampling) : "cut"],
      ];
      bars.forEach(([series, p, colour, text], j) => {
        const y = y0 + j * barH;
        const w = Math.max(0, x(p) - labelWidth);
        g.appendChild(svgEl("rect", { x: labelWidth, y, width: w, height: barH - 1, fill: colour }));
        g.appendChild(
          svgEl(
            "text",
            { x: labelWidth + w + 4, y: y + barH * 0.5 + font * 0.33, "font-size": small, class: "value " + series },
            text,
          ),
        );
      });
      svg.appendChild(g);
    });
    svg.appendChild(svgEl("line", { x1: labelWidth, x2: labelWidth, y1: top, y2: plotBottom, stroke: c.guide }));
    this.barsBox.replaceChildren(svg);
  }

  rowLabel(r) {
    return r.rank ? `${r.rank}. ${r.label}` : r.label;
  }

  // The entropy curve on the grid the server used: 61 temperatures from 0 to max(3, T), rounded to 3 decimals.
  curve(end) {
    if (!this.curves.has(end)) {
      const grid = [];
      const bits = [];
      for (let i = 0; i <= 60; i++) {
        const t = Math.round((i * end / 60) * 1000) / 1000;
        grid.push(t);
        bits.push(entropyAt(this.logits, t, this.scores, this.work));
      }
      this.curves.set(end, { grid, bits });
    }
    return this.curves.get(end);
  }

  // The curve to draw now: the grid's own when it is known; past T = 3 each step has a new grid (61 passes over the
  // vocabulary), so the nearest known curve is drawn at once and the exact one replaces it right after.
  curveFor(end) {
    if (this.curves.has(end) || !this.curves.size) return this.curve(end);
    clearTimeout(this.curveTimer);
    const exact = () => {
      const t = this.settings.temperature;
      if (!this.view || Math.max(3, t) !== end) return; // moved on since: that move asked for its own curve
      this.curve(end);
      this.drawCurve(t, this.view.entropyBits, !!this.data.presenter);
    };
    // after the frame with the new bars is painted (and after a move's timing is taken): then the exact curve
    requestAnimationFrame(() => setTimeout(() => (this.curveTimer = setTimeout(exact, 0)), 0));
    let nearest = null;
    for (const known of this.curves.keys()) {
      if (nearest === null || Math.abs(known - end) < Math.abs(nearest - end)) nearest = known;
    }
    return this.curves.get(nearest);
  }

  drawCurve(current, currentBits, presenter) {
    const c = this.data.colours;
    const k = this.scale(presenter);
    const font = Math.max(presenter ? 19 : 12, Math.round(14 * k));
    const small = presenter ? font : Math.round(font * 0.9);
    const titleFont = Math.round(16 * k);
    const width = Math.max(220, this.curveBox.clientWidth || 300);
    const height = Math.round(360 * k);
    const { grid, bits } = this.curveFor(Math.max(3, current));
    const maxBits = this.data.max_bits;
    const left = Math.round(48 * k);
    const right = 16;
    const top = titleFont + 24;
    const bottom = Math.round(52 * k);
    const yMax = 1.18 * Math.max(currentBits, ...bits, maxBits, 1e-3);
    const xMax = Math.max(grid[grid.length - 1], current);
    const x = (t) => left + (t / xMax) * (width - left - right);
    const y = (b) => height - bottom - (b / yMax) * (height - top - bottom);
    const svg = svgEl("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Entropy as temperature moves: ${fixed(currentBits, 2)} bits at T = ${general(current)}`,
    });
    svg.appendChild(svgEl("text", { x: 4, y: titleFont + 4, class: "title", "font-size": titleFont }, "Entropy as temperature moves"));
    const yStep = niceStep(yMax, 5);
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      svg.appendChild(svgEl("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: c.grid }));
      svg.appendChild(
        svgEl("text", { x: left - 4, y: y(v) + font * 0.33, "text-anchor": "end", "font-size": small }, general(v)),
      );
    }
    const xStep = niceStep(xMax, 5);
    for (let v = 0; v <= xMax + 1e-9; v += xStep) {
      svg.appendChild(
        svgEl(
          "text",
          { x: x(v), y: height - bottom + font + 4, "text-anchor": "middle", "font-size": small },
          general(v),
        ),
      );
    }
    svg.appendChild(
      svgEl("text", { x: (left + width - right) / 2, y: height - 8, "text-anchor": "middle", "font-size": font }, "temperature T"),
    );
    const yTitle = svgEl(
      "text",
      { x: 0, y: 0, "text-anchor": "middle", "font-size": font, transform: `translate(${font}, ${(top + height - bottom) / 2}) rotate(-90)` },
      "entropy (bits)",
    );
    svg.appendChild(yTitle);
    svg.appendChild(
      svgEl("line", { x1: left, x2: width - right, y1: y(maxBits), y2: y(maxBits), stroke: c.muted, "stroke-dasharray": "3 3" }),
    );
    svg.appendChild(
      svgEl("text", { x: left + 4, y: y(maxBits) + font + 2, "font-size": small, fill: c.muted }, `uniform limit: ${fixed(maxBits, 2)} bits`),
    );
    const path = grid.map((t, i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(bits[i]).toFixed(1)}`).join(" ");
    svg.appendChild(svgEl("path", { d: path, fill: "none", stroke: c.sampling, "stroke-width": 3 }));
    const mx = x(current);
    const my = y(currentBits);
    svg.appendChild(svgEl("circle", { cx: mx, cy: my, r: 7 * k, fill: c.accent, class: "marker" }));
    const where = (current - 0) / (xMax || 1);
    const label = `T = ${general(current)}: ${fixed(currentBits, 2)} bits`;
    svg.appendChild(
      svgEl(
        "text",
        { x: mx + (where < 0.4 ? 8 : -8), y: my - 12, "text-anchor": where < 0.4 ? "start" : "end", "font-size": font, class: "halo marker-label" },
        label,
      ),
    );
    this.curveBox.replaceChildren(svg);
  }

  fillTable(rows, title) {
    const sampling = this.data.page === "temperature" ? `probability at T = ${general(this.settings.temperature)}` : "sampling probability (after filters)";
    this.tableCaption.textContent = `${title}: ${rows.length} rows, the model's probability and the ${sampling}.`;
    const head = el("tr");
    for (const h of ["token", "model probability", sampling]) head.appendChild(el("th", { scope: "col" }, h));
    const body = rows.map((r) => {
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, this.rowLabel(r)));
      tr.appendChild(el("td", {}, percent1(r.model)));
      tr.appendChild(el("td", {}, r.kept ? percent1(r.sampling) : "cut"));
      return tr;
    });
    this.table.replaceChildren(el("thead"), el("tbody"));
    this.table.firstChild.appendChild(head);
    this.table.lastChild.replaceChildren(...body);
  }
}

export default (component) => mountView(component, SamplerView);
