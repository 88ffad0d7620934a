"use strict";
// cctap report: tabs, conversation rendered on expand from inert JSON,
// timeline zoom and hover. Nothing here fetches anything.
(function () {
  const $ = (s, r) => (r || document).querySelector(s);
  const $$ = (s, r) => Array.from((r || document).querySelectorAll(s));
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const blob = (id) => {
    const s = document.getElementById(id);
    return s ? JSON.parse(s.textContent) : null;
  };
  const LONG = 3000, HEAD = 1200;

  // Tabs: the hash names the view; a call id (#c-12) opens it in Conversation.
  function show(name) {
    if (!document.getElementById(name)) name = "overview";
    $$(".view").forEach((v) => v.classList.toggle("on", v.id === name));
    $$("#tabs a").forEach((a) => a.classList.toggle("on", a.dataset.tab === name));
    if (name === "timeline") fit(false);
  }
  function route() {
    const h = location.hash.slice(1);
    const m = /^c-(\d+)$/.exec(h);
    if (m) {
      show("conversation");
      openCall(+m[1]);
    } else show(h || "overview");
  }
  window.addEventListener("hashchange", route);
  $$("#tabs a").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    history.pushState(null, "", "#" + a.dataset.tab);
    show(a.dataset.tab);
    window.scrollTo(0, 0);
  }));

  // Text that may be long: the head, and the rest on request.
  function text(s, cls) {
    const d = el("div", cls || "txt");
    if (s.length <= LONG) {
      d.textContent = s;
      return d;
    }
    d.textContent = s.slice(0, HEAD);
    const b = el("button", null, "show all " + s.length.toLocaleString() + " chars");
    b.addEventListener("click", () => { d.textContent = s; });
    d.append("… ", b);
    return d;
  }
  function pre(s) {
    const p = el("pre");
    p.append(text(s, "mono"));
    return p;
  }
  function collapsed(title, body) {
    const d = el("details", "blk");
    d.append(el("summary", null, title));
    d.addEventListener("toggle", () => {
      if (d.open && d.childNodes.length === 1) d.append(body());
    }, { once: true });
    return d;
  }
  function toolBox(name, id, input, result, isError) {
    const box = el("div", "tool");
    box.append(el("div", "th", "tool_use " + name + (id ? "  " + id : "")), pre(input || "{}"));
    if (result != null) {
      const r = el("div", "result" + (isError ? " err" : ""));
      r.append(el("div", "th", isError ? "tool_result (error)" : "tool_result"), pre(result));
      box.append(r);
    }
    return box;
  }
  function block(b) {
    switch (b.k) {
      case "text": return text(b.t);
      case "thinking": return collapsed("thinking (" + b.t.length.toLocaleString() + " chars)", () => text(b.t));
      case "tool_use": case "server_tool_use": return toolBox(b.name, b.id, b.t, b.result, b.is_error);
      case "tool_result":
        if (b.paired) return el("div", "note", "↳ tool_result for " + (b.name || b.id) + ": shown under its tool call");
        { const r = el("div", "result" + (b.is_error ? " err" : "")); r.append(el("div", "th", "tool_result " + (b.id || "")), pre(b.t)); return r; }
      default: return el("div", "note", b.t);
    }
  }
  function renderCall(body, id) {
    const d = blob("d-" + id);
    if (!d) return;
    if (d.note) { body.append(el("div", "note", d.note)); return; }
    const params = Object.entries(d.params || {}).filter(([k]) => k !== "stream")
      .map(([k, v]) => k + ": " + JSON.stringify(v)).join("  ·  ");
    if (params) body.append(el("div", "note mono", params));
    if (d.skipped) body.append(el("div", "note", d.skipped + " earlier message" + (d.skipped === 1 ? "" : "s") + " (shown with earlier turns)" + (d.echo ? "; the previous reply sent back is not repeated" : "")));
    if (d.rewritten) body.append(el("div", "note", "the conversation was rewritten (compacted): all of it is shown"));
    for (const m of d.msgs) {
      const box = el("div", "msg " + m.role);
      box.append(el("div", "role", m.role));
      m.blocks.forEach((b) => box.append(block(b)));
      body.append(box);
    }
    const r = d.reply, box = el("div", "msg reply");
    box.append(el("div", "role", "reply" + (r.stop ? " · " + r.stop : "")));
    if (r.error) box.append(el("div", "txt bad", r.error));
    if (r.thinking) box.append(collapsed("thinking (" + r.thinking.length.toLocaleString() + " chars)", () => text(r.thinking)));
    if (r.text) box.append(text(r.text));
    r.tools.forEach((t) => box.append(toolBox(t.name, t.id, t.input, t.result, t.is_error)));
    if (!r.text && !r.tools.length && !r.error && !r.thinking) box.append(el("div", "note", "no content"));
    body.append(box);
  }
  function renderPrompt(body, k) {
    const p = blob("p-" + k);
    if (!p) return;
    p.system.forEach((s, i) => body.append(collapsed("system[" + i + "] · " + s.length.toLocaleString() + " chars", () => text(s))));
    for (const t of p.tools) {
      body.append(collapsed("tool " + t.name + " · " + t.bytes.toLocaleString() + " bytes", () => {
        const f = el("div");
        f.append(text(t.description), pre(t.schema));
        return f;
      }));
    }
  }
  // Expanding fills the body once (toggle does not bubble: capture it).
  document.addEventListener("toggle", (e) => {
    const d = e.target;
    if (!d.open || !d.matches || d.dataset.done) return;
    const body = d.querySelector(":scope > .body");
    if (!body) return;
    if (d.matches("details.call")) renderCall(body, +d.dataset.id);
    else if (d.matches("details.prompt")) renderPrompt(body, +d.dataset.p);
    else return;
    d.dataset.done = "1";
  }, true);
  function openCall(id) {
    const d = document.getElementById("c-" + id);
    if (!d) return;
    d.open = true;
    d.scrollIntoView({ block: "start" });
  }
  document.addEventListener("click", (e) => {
    const a = e.target.closest("[data-open]");
    if (a) { e.preventDefault(); location.hash = "c-" + a.dataset.open; }
  });

  // Timeline: the SVG's x axis is in ms; zoom stretches it.
  const svg = $("#waterfall"), plot = $("#wf-plot"), axis = $("#wf-axis"), wf = $("#wf");
  const span = svg ? +svg.dataset.span : 1;
  let zoom = 1, base = 0, timing = null, fitted = false;
  const ROW = 18;
  function width() { return Math.max(200, base * zoom); }
  function layout() {
    if (!svg) return;
    svg.style.width = width() + "px";
    plot.style.width = width() + "px";
    drawAxis();
    $("#zoom-label").textContent = "×" + zoom;
  }
  function fit(force) {
    if (!svg || (fitted && !force)) return;
    const labels = $(".wf-labels");
    base = Math.max(300, wf.clientWidth - labels.offsetWidth - 2);
    fitted = base > 300 || force;
    zoom = 1;
    layout();
  }
  function fmt(ms) { return ms === 0 ? "0" : ms < 10 ? +ms.toFixed(3) + " ms" : ms < 1000 ? Math.round(ms) + " ms" : ms < 120000 ? (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s" : (ms / 60000).toFixed(1) + " min"; }
  function drawAxis() {
    axis.textContent = "";
    const w = width(), target = Math.max(2, Math.floor(w / 110));
    const raw = span / target, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    for (let t = 0; t <= span; t += step) {
      const s = el("span", null, fmt(t));
      s.style.left = (t / span) * w + "px";
      if (t === 0) s.style.transform = "none";
      axis.append(s);
    }
  }
  const tip = $("#tip");
  function tipAt(e, s) { tip.textContent = s; tip.hidden = false; tip.style.left = Math.min(e.clientX + 14, innerWidth - 470) + "px"; tip.style.top = (e.clientY + 14) + "px"; }
  const ticksCache = {};
  function ticksOf(id) { return ticksCache[id] || (ticksCache[id] = blob("e-" + id) || []); }
  // The call and, within 5 px, the SSE event under the pointer.
  function hit(e) {
    const r = svg.getBoundingClientRect();
    const id = Math.floor((e.clientY - r.top) / ROW);
    timing = timing || blob("timing") || [];
    const c = timing[id];
    if (!c) return null;
    const ms = ((e.clientX - r.left) / r.width) * span - c[4];
    const px = span / r.width;
    let best = null, dist = 5 * px;
    for (const t of ticksOf(id)) {
      const d = Math.abs(t[0] - ms);
      if (d <= dist) { dist = d; best = t; }
    }
    return { c, ms, ev: best };
  }
  function phases(c) {
    const p = ["#" + c[0] + " " + c[1] + " · " + (c[2] || "") + " · status " + c[3],
      "starts at " + fmt(c[4]) + ", sent " + fmt(c[5])];
    if (c[6] != null) p.push("first byte " + c[6].toFixed(1) + " ms");
    if (c[7] != null) p.push("first content (TTFT) " + c[7].toFixed(1) + " ms");
    p.push("last event / end " + c[8].toFixed(1) + " ms");
    return p.join("\n");
  }
  function evText(ev) { return ev ? "\n\nevent " + ev[1] + " at +" + ev[0].toFixed(1) + " ms\n" + ev[2] : ""; }
  if (svg) {
    svg.addEventListener("mousemove", (e) => {
      const h = hit(e);
      if (!h) { tip.hidden = true; return; }
      const inBar = h.ms >= -2 * span / svg.getBoundingClientRect().width && h.ms <= h.c[8] + 2 * span / svg.getBoundingClientRect().width;
      if (!inBar && !h.ev) { tip.hidden = true; return; }
      tipAt(e, phases(h.c) + evText(h.ev));
    });
    svg.addEventListener("mouseleave", () => { tip.hidden = true; });
    svg.addEventListener("click", (e) => {
      const h = hit(e);
      if (!h) return;
      const out = $("#wf-detail");
      out.textContent = "";
      const a = el("a", null, "open #" + h.c[0] + " in Conversation");
      a.href = "#c-" + h.c[0];
      out.append(el("h3", null, "#" + h.c[0] + " " + h.c[1]), el("pre", null, phases(h.c) + evText(h.ev)), a);
    });
    $$(".wfl").forEach((l) => l.addEventListener("click", () => { location.hash = "c-" + l.dataset.id; }));
    $("#zoom-in").addEventListener("click", () => { zoom = Math.min(zoom * 2, 4096); layout(); });
    $("#zoom-out").addEventListener("click", () => { zoom = Math.max(zoom / 2, 1); layout(); });
    $("#zoom-fit").addEventListener("click", () => fit(true));
    window.addEventListener("resize", () => { if (zoom === 1) fit(true); });
  }
  route();
})();
