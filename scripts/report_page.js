// The report page's script, inlined into report.html by report.py: endpoint table, trace list and
// waterfall (virtualised: only the rows in view exist in the DOM), flame graphs built on demand.
// The data comes as columns (one array per field, one entry per span, traces contiguous).
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('rs-data').textContent);
  const S = D.spans, NS = S.tr.length, NT = D.traces.length;
  let P = null, DET = null; // profiles and span details: parsed when first needed
  const COLORS = ['#3b7dd8', '#e07b39', '#3aa57a', '#b455b6', '#d4a72c', '#d6475a', '#4bb3c7',
    '#7f8c2d', '#8a6bd1', '#a0674b'];
  const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) {
      if (k === 'class') e.className = attrs[k];
      else if (k === 'text') e.textContent = attrs[k];
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
      else if (k === 'style') e.style.cssText = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of kids) if (c != null) e.append(c);
    return e;
  }
  function ms(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';
    return (us / 1000).toFixed(us < 10000 ? 2 : 1) + ' ms';
  }
  const svcIdx = new Map();
  for (const p of D.procs) if (!svcIdx.has(p.svc)) svcIdx.set(p.svc, svcIdx.size);
  const procColor = (p) => COLORS[svcIdx.get(D.procs[p].svc) % COLORS.length];
  const procName = (p) => D.procs[p].svc + ' ' + D.procs[p].pid;

  // Per trace: start, end, error count (one pass over the spans).
  const tStart = new Float64Array(NT), tEnd = new Float64Array(NT), tErr = new Int32Array(NT);
  for (let t = 0; t < NT; t++) { tStart[t] = Infinity; tEnd[t] = -Infinity; }
  for (let i = 0; i < NS; i++) {
    const t = S.tr[i], e = S.st[i] + S.du[i];
    if (S.st[i] < tStart[t]) tStart[t] = S.st[i];
    if (e > tEnd[t]) tEnd[t] = e;
    tErr[t] += S.err[i];
  }
  const tDur = (t) => tEnd[t] - tStart[t];
  const svcCache = new Map();
  function traceProcs(t) {
    let r = svcCache.get(t);
    if (r) return r;
    const [off, cnt] = D.traces[t], seen = new Set();
    for (let i = off; i < off + cnt && seen.size < 12; i++) seen.add(S.proc[i]);
    r = [...seen];
    svcCache.set(t, r);
    return r;
  }

  // A scrolling list that keeps only the rows in view (plus a margin) in the DOM.
  function vlist(box, rowH, render) {
    box.classList.add('vlist');
    const inner = el('div', { class: 'vinner' });
    box.append(inner);
    let n = 0, queued = false;
    function draw() {
      const top = box.scrollTop, h = box.clientHeight || 400;
      const a = Math.max(0, Math.floor(top / rowH) - 8), b = Math.min(n, Math.ceil((top + h) / rowH) + 8);
      inner.style.height = (n * rowH) + 'px';
      const frag = document.createDocumentFragment();
      for (let i = a; i < b; i++) {
        const r = render(i);
        r.style.top = (i * rowH) + 'px';
        frag.append(r);
      }
      inner.replaceChildren(frag);
    }
    box.addEventListener('scroll', () => {
      if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; draw(); }); }
    });
    return {
      set(count) { n = count; draw(); },
      draw,
      show(i) {
        const top = i * rowH;
        if (top < box.scrollTop || top + rowH > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - rowH * 3);
        draw();
      },
    };
  }

  // ---- the page's frame
  const main = el('main');
  const errs = S.err.reduce((a, b) => a + b, 0);
  const legend = el('div', { class: 'legend' });
  for (const [svc, k] of svcIdx) {
    const pids = D.procs.filter((p) => p.svc === svc).length;
    legend.append(el('span', null, el('i', { class: 'dot', style: 'background:' + COLORS[k % COLORS.length] }),
      svc + (pids > 1 ? ' (' + pids + ' processes)' : '')));
  }
  const dropped = Object.entries(D.dropped || {}).map(([k, v]) => v + ' ' + k.replace('_', ' ')).join(', ');
  document.body.append(el('header', null, el('h1', { text: 'ringside report' }),
    el('div', { class: 'sum', text: (D.t0 ? new Date(D.t0 / 1e6).toISOString().replace('T', ' ').slice(0, 19) + ' UTC: ' : '') + NS + ' spans in ' + NT + ' traces from ' + D.procs.length + ' processes, ' +
      errs + ' with errors; ' + D.dir + (dropped ? ' (skipped: ' + dropped + ')' : '') }), legend));
  const tabTraces = el('button', { class: 'on', id: 'tab-traces', text: 'Traces & endpoints', onclick: () => tab(0) });
  const tabProf = el('button', { id: 'tab-profiles', text: 'Profiles', onclick: () => tab(1) });
  document.body.append(el('nav', null, tabTraces, tabProf), main);
  const pageTraces = el('div', { id: 'page-traces' }), pageProf = el('div', { id: 'page-profiles', class: 'hidden' });
  main.append(pageTraces, pageProf);
  function tab(k) {
    tabTraces.classList.toggle('on', k === 0);
    tabProf.classList.toggle('on', k === 1);
    pageTraces.classList.toggle('hidden', k !== 0);
    pageProf.classList.toggle('hidden', k !== 1);
    if (k === 1) flame.show();
    else { traceList.draw(); waterfall.draw(); }
  }

  // What is shown: the traces listed, the selected trace and span, the endpoint clicked.
  let listed = [], listSort = 'dur', selTrace = -1, selSpan = -1, epFilter = -1;

  // ---- endpoints
  const epBody = el('tbody');
  const epSection = el('section', { id: 'endpoints' }, el('h2', null, 'Endpoints',
    el('span', { class: 'sub', text: 'HTTP spans by service and name; click a row for its slowest traces' })));
  if (D.endpoints.length) {
    const head = el('tr');
    const keys = [(e) => e.svc, (e) => e.kind, (e) => e.name, (e) => -e.n, (e) => -e.err, (e) => -e.err / e.n,
      (e) => -e.p50, (e) => -e.p95, (e) => -e.p99, (e) => -e.max];
    ['service', 'kind', 'endpoint', 'count', 'errors', 'error rate', 'p50', 'p95', 'p99', 'max'].forEach((h, c) =>
      head.append(el('th', { text: h, title: 'sort by ' + h, style: 'cursor:pointer', onclick: () => {
        const f = keys[c], order = D.endpoints.map((_, k) => k);
        order.sort((a, b) => { const x = f(D.endpoints[a]), y = f(D.endpoints[b]); return x < y ? -1 : x > y ? 1 : a - b; });
        fillEndpoints(order);
      } })));
    fillEndpoints(D.endpoints.map((_, k) => k));
    epSection.append(el('div', { class: 'epbox' }, el('table', { class: 'ep' }, el('thead', null, head), epBody)));
  } else {
    epSection.append(el('div', { class: 'empty', text: 'No HTTP requests were recorded.' }));
  }
  pageTraces.append(epSection);
  // At most EP_ROWS rows in the document (a run whose URLs were not folded into templates may
  // have many thousands of endpoints); sorting works on all of them.
  function fillEndpoints(order) {
    const EP_ROWS = 1000, frag = document.createDocumentFragment();
    for (const k of order.slice(0, EP_ROWS)) {
      const e = D.endpoints[k], rate = e.n ? (100 * e.err / e.n) : 0;
      const svcCell = el('td', null, el('i', { class: 'dot', style: 'background:' + COLORS[svcIdx.get(e.svc) % COLORS.length] }), e.svc);
      frag.append(el('tr', { 'data-ep': k, class: k === epFilter ? 'on' : '', onclick: () => openEndpoint(k) }, svcCell,
        el('td', { text: e.kind }), el('td', { text: e.name }), el('td', { class: 'count', text: e.n }),
        el('td', { class: e.err ? 'bad' : '', text: e.err }), el('td', { class: e.err ? 'bad' : '', text: rate.toFixed(1) + '%' }),
        el('td', { text: ms(e.p50) }), el('td', { text: ms(e.p95) }), el('td', { text: ms(e.p99) }), el('td', { text: ms(e.max) })));
    }
    if (order.length > EP_ROWS) frag.append(el('tr', null, el('td', { colspan: 10, text: (order.length - EP_ROWS) + ' more endpoints (sort to see others)' })));
    epBody.replaceChildren(frag);
  }

  // ---- trace list
  const tlTitle = el('span', { class: 'sub' });
  const tlAll = el('a', { class: 'hidden', text: 'show all traces', onclick: () => { epFilter = -1; fillTraces(); } });
  const tlHead = el('div', { class: 'thead' }, el('span', { 'data-k': 'st', text: 'start', onclick: () => sortBy('st') }),
    el('span', { text: 'root span' }), el('span', { text: 'services' }), el('span', { 'data-k': 'n', class: 'num', text: 'spans', onclick: () => sortBy('n') }),
    el('span', { 'data-k': 'dur', class: 'num', text: 'duration', onclick: () => sortBy('dur') }), el('span', { class: 'num', text: 'errors' }));
  const tlBox = el('div', { class: 'tl', id: 'trace-list' });
  const nConn = D.traces.reduce((n, t) => n + t[2], 0);
  const showConns = el('input', { type: 'checkbox', id: 'show-conns', onchange: () => { epFilter = -1; fillTraces(); } });
  showConns.checked = nConn === NT; // nothing but connections: show them
  pageTraces.append(el('section', { id: 'traces' }, el('h2', null, 'Traces', tlTitle, tlAll,
    nConn ? el('label', { class: 'sub' }, showConns, 'also the ' + nConn + ' traces of TCP connections alone') : null), tlHead, tlBox));
  const traceList = vlist(tlBox, 22, (k) => {
    const t = listed[k], [off, cnt] = D.traces[t];
    const dots = el('span');
    const shown = new Set();
    for (const p of traceProcs(t)) if (!shown.has(D.procs[p].svc) && shown.add(D.procs[p].svc)) dots.append(el('i', { class: 'dot', title: procName(p), style: 'background:' + procColor(p) }));
    return el('div', { class: 'trow' + (t === selTrace ? ' on' : ''), 'data-trace': t, onclick: () => selectTrace(t, -1) },
      el('span', { text: '+' + ms(tStart[t]) }), el('span', { text: D.names[S.name[off]] }), dots,
      el('span', { class: 'num', text: cnt }), el('span', { class: 'num', text: ms(tDur(t)) }),
      el('span', { class: 'num' + (tErr[t] ? ' bad' : ''), text: tErr[t] || '' }));
  });
  function sortBy(k) { listSort = k; epFilter = -1; fillTraces(); }
  function fillTraces() {
    if (epFilter >= 0) {
      const e = D.endpoints[epFilter], seen = new Set();
      listed = [];
      for (const r of e.slow) if (!seen.has(S.tr[r])) { seen.add(S.tr[r]); listed.push(S.tr[r]); }
      tlTitle.textContent = 'the slowest traces of ' + e.svc + ' ' + e.kind + ' ' + e.name;
    } else {
      listed = [];
      for (let t = 0; t < NT; t++) if (showConns.checked || !D.traces[t][2]) listed.push(t);
      if (listSort === 'dur') listed.sort((a, b) => tDur(b) - tDur(a));
      else if (listSort === 'n') listed.sort((a, b) => D.traces[b][1] - D.traces[a][1]);
      else listed.sort((a, b) => tStart[a] - tStart[b]);
      tlTitle.textContent = listed.length + ' traces, by ' + { dur: 'duration (slowest first)', n: 'span count', st: 'start time' }[listSort];
    }
    tlAll.classList.toggle('hidden', epFilter < 0);
    traceList.set(listed.length);
  }
  function openEndpoint(k) {
    epFilter = k;
    for (const tr of epBody.children) tr.classList.toggle('on', +tr.dataset.ep === k);
    fillTraces();
    const r = D.endpoints[k].slow[0];
    if (r !== undefined) selectTrace(S.tr[r], r);
    tlBox.scrollTop = 0;
  }

  // ---- waterfall
  const wfTitle = el('span', { class: 'sub' });
  const axis = el('div', { class: 'waxis' }, el('div', { class: 'wlabel', text: 'span' }), el('div', { class: 'wtrack' }));
  const wfBox = el('div', { class: 'wf', id: 'waterfall' });
  const key = el('div', { class: 'key' },
    el('span', null, el('i', { style: 'background:#3b7dd8' }), 'span (colour: service)'),
    el('span', null, el('i', { style: 'background:linear-gradient(#3b7dd8,#3b7dd8);opacity:.55;box-shadow:inset 8px 0 rgba(0,0,0,.35)' }), 'darker: CPU time sampled in the span'),
    el('span', null, el('i', { style: 'background:repeating-linear-gradient(45deg,#fff 0 2px,#999 2px 4px)' }), 'hatched: waiting (wait samples)'),
    el('span', null, el('i', { style: 'background:repeating-linear-gradient(90deg,#9aa5b1 0 3px,transparent 3px 5px)' }), 'dashes: queued before the first byte was read'));
  const detail = el('div', { class: 'detail', id: 'span-detail' }, el('div', { class: 'empty', text: 'Click a span for its details.' }));
  pageTraces.append(el('section', { id: 'trace' }, el('h2', null, 'Waterfall', wfTitle), axis, wfBox, key),
    el('section', null, el('h2', null, 'Span'), detail));
  let rows = [], collapsed = new Set(), wfT0 = 0, wfLen = 1;
  const hasKids = (i) => i + 1 < NS && S.tr[i + 1] === S.tr[i] && S.dep[i + 1] > S.dep[i];
  const waterfall = vlist(wfBox, 22, (k) => {
    const i = rows[k], c = procColor(S.proc[i]);
    const left = 100 * (S.st[i] - wfT0) / wfLen, w = 100 * S.du[i] / wfLen;
    const label = el('div', { class: 'wlabel' + (S.err[i] ? ' err' : ''), style: 'padding-left:' + (Math.min(S.dep[i], 40) * 12) + 'px',
      title: D.names[S.name[i]] + ' (' + procName(S.proc[i]) + ')' },
    el('span', { class: 'caret', text: hasKids(i) ? (collapsed.has(i) ? '▸' : '▾') : '', onclick: (ev) => { ev.stopPropagation(); toggle(i); } }),
    el('i', { class: 'dot', style: 'background:' + c }), D.names[S.name[i]], el('span', { class: 'svc', text: procName(S.proc[i]) }));
    const track = el('div', { class: 'wtrack' });
    if (S.q[i] > 0) {
      const ql = 100 * (S.st[i] - S.q[i] - wfT0) / wfLen;
      track.append(el('div', { class: 'qbar', style: 'left:' + Math.max(0, ql) + '%;width:' + (100 * S.q[i] / wfLen) + '%', title: 'queued ' + ms(S.q[i]) }));
    }
    const cpu = S.cpu ? S.cpu[i] : 0, wt = S.wt ? S.wt[i] : 0;
    const bar = el('div', { class: 'bar' + (cpu || wt ? ' prof' : ''), style: 'left:' + left + '%;width:' + w + '%;background:' + c });
    if (cpu || wt) {
      const d = Math.max(S.du[i], 1), cw = Math.min(100, 100 * cpu / d), ww = Math.min(100 - cw, 100 * wt / d);
      if (cw) bar.append(el('div', { class: 'cpu', style: 'left:0;width:' + cw + '%' }));
      if (ww) bar.append(el('div', { class: 'wait', style: 'left:' + cw + '%;width:' + ww + '%' }));
    }
    // The duration goes after the bar, or inside its right end when the bar reaches the edge.
    const at = left + w <= 80 ? 'left:calc(' + (left + w) + '% + 4px)' : w > 12 ? 'right:calc(' + (100 - left - w) + '% + 4px);color:#fff'
      : 'right:calc(' + (100 - left) + '% + 4px)';
    track.append(bar, el('span', { class: 'dur', style: at,
      text: ms(S.du[i]) + (S.code[i] ? ' · ' + S.code[i] : '') }));
    return el('div', { class: 'wrow' + (i === selSpan ? ' on' : ''), 'data-span': i, 'data-depth': S.dep[i], 'data-kind': S.kind[i], onclick: () => selectSpan(i) }, label, track);
  });
  function layoutRows() {
    const [off, cnt] = D.traces[selTrace];
    rows = [];
    for (let i = off; i < off + cnt; i++) {
      rows.push(i);
      if (collapsed.has(i)) { const d = S.dep[i]; while (i + 1 < off + cnt && S.dep[i + 1] > d) i++; }
    }
    waterfall.set(rows.length);
  }
  function toggle(i) { if (collapsed.has(i)) collapsed.delete(i); else collapsed.add(i); layoutRows(); }
  function selectTrace(t, span) {
    selTrace = t;
    collapsed = new Set();
    wfT0 = tStart[t];
    wfLen = Math.max(1, tDur(t));
    const [off, cnt] = D.traces[t];
    wfTitle.textContent = D.names[S.name[off]] + ' · ' + cnt + ' spans · ' + ms(tDur(t)) + (tErr[t] ? ' · ' + tErr[t] + ' errors' : '');
    const tr = axis.lastChild;
    tr.replaceChildren();
    for (let k = 0; k <= 3; k++) tr.append(el('span', { style: 'left:' + (k * 24 + 2) + '%', text: ms((k * 24 + 2) / 100 * wfLen) }));
    layoutRows();
    traceList.draw();
    if (span >= 0) selectSpan(span);
    else { selSpan = -1; detail.replaceChildren(el('div', { class: 'empty', text: 'Click a span for its details.' })); }
  }
  function details() {
    if (!DET) DET = JSON.parse(document.getElementById('rs-detail').textContent);
    return DET;
  }
  function selectSpan(i) {
    selSpan = i;
    const k = rows.indexOf(i);
    if (k >= 0) waterfall.show(k); else waterfall.draw();
    const det = details(), [trace, span, parent, flat, events] = det.spans[i], str = det.strings;
    const tbl = el('table');
    const row = (k, v) => tbl.append(el('tr', null, el('td', { text: k }), el('td', { text: v })));
    row('name', D.names[S.name[i]]);
    row('service', procName(S.proc[i]) + ' (' + D.procs[S.proc[i]].exe + ')');
    row('kind', KINDS[S.kind[i]] || S.kind[i]);
    row('trace / span / parent', trace + ' / ' + span + ' / ' + (parent || '(root)'));
    row('start', '+' + ms(S.st[i] - tStart[S.tr[i]]) + ' in the trace');
    row('duration', ms(S.du[i]) + (S.err[i] ? ' · error' : ''));
    if (S.q[i]) row('queued', ms(S.q[i]) + ' before the first byte was read');
    if (S.cpu && (S.cpu[i] || S.wt[i])) row('sampled', 'CPU ' + ms(S.cpu[i]) + ' · waiting ' + ms(S.wt[i]) + waitKinds(i));
    for (let a = 0; a < flat.length; a += 2) row(str[flat[a]], str[flat[a + 1]]);
    for (const [n, tm] of events) row('event', str[n] + ' at +' + ms(Math.round(tm / 1000 - D.t0 / 1000 - S.st[i])));
    detail.replaceChildren(tbl, el('div', null,
      el('button', { text: 'CPU flame graph of this span', onclick: () => flame.focus('cpu', 'span') }),
      el('button', { text: 'Wait flame graph of this span', onclick: () => flame.focus('wait', 'span') }),
      el('button', { text: 'CPU flame graph of this trace', onclick: () => flame.focus('cpu', 'trace') })));
  }
  function waitKinds(i) {
    const p = prof(), x = p.samples, by = new Map();
    for (let k = 0; k < x.sp.length; k++) if (x.sp[k] === i && x.wt[k]) by.set(x.wk[k], (by.get(x.wk[k]) || 0) + x.wt[k]);
    return by.size ? ' (' + [...by].map(([w, v]) => p.kinds[w] + ' ' + ms(v)).join(', ') + ')' : '';
  }
  function prof() {
    if (!P) P = JSON.parse(document.getElementById('rs-prof').textContent);
    return P;
  }

  // ---- flame graphs
  const flame = (function () {
    const typeSel = el('select', { id: 'flame-type' }, el('option', { value: 'cpu', text: 'CPU' }), el('option', { value: 'wait', text: 'Wait' }));
    const threadSel = el('select', { id: 'flame-thread' });
    const scopeSel = el('select', { id: 'flame-scope' }, el('option', { value: 'all', text: 'all samples' }),
      el('option', { value: 'trace', text: 'the selected trace' }), el('option', { value: 'span', text: 'the selected span' }));
    const info = el('span', { class: 'sub' });
    const box = el('div', { class: 'flame', id: 'flame' });
    const reset = el('button', { text: 'reset zoom', onclick: () => { zoom = null; draw(); } });
    pageProf.append(el('section', { id: 'profiles' }, el('h2', null, 'Flame graph', info),
      el('div', { class: 'controls' }, el('label', null, 'profile ', typeSel), el('label', null, 'thread ', threadSel),
        el('label', null, 'samples of ', scopeSel), reset), box));
    let built = false, tree = null, zoom = null;
    for (const s of [typeSel, threadSel, scopeSel]) s.addEventListener('change', () => { zoom = null; draw(); });
    function init() {
      if (built) return;
      built = true;
      const p = prof();
      threadSel.append(el('option', { value: -1, text: 'all threads' }));
      p.threads.forEach(([proc, tid, name], k) => threadSel.append(el('option', { value: k, text: procName(proc) + ' · ' + (name || '?') + ' (' + tid + ')' })));
    }
    function label(f) {
      const p = prof();
      if (f >= 0) return p.frames[f];
      if (f <= -1000) return 'wait: ' + (p.kinds[-f - 1000] || '?');
      return procName(-f - 2);
    }
    function build() {
      const p = prof(), x = p.samples, type = typeSel.value, th = +threadSel.value, scope = scopeSel.value;
      const vals = type === 'cpu' ? x.cpu : x.wt;
      const root = { f: -1, v: 0, k: new Map() };
      let n = 0;
      const spanT = selTrace;
      for (let k = 0; k < vals.length; k++) {
        const v = vals[k];
        if (!v || (th >= 0 && x.th[k] !== th)) continue;
        if (scope === 'span' && x.sp[k] !== selSpan) continue;
        if (scope === 'trace' && (x.sp[k] < 0 || S.tr[x.sp[k]] !== spanT)) continue;
        n++;
        let node = root;
        root.v += v;
        const path = [-2 - p.threads[x.th[k]][0]].concat(p.stacks[x.stk[k]]);
        if (type === 'wait' && x.wk[k] >= 0) path.push(-1000 - x.wk[k]);
        for (const f of path) {
          let c = node.k.get(f);
          if (!c) { c = { f, v: 0, k: new Map(), up: node }; node.k.set(f, c); }
          c.v += v;
          node = c;
        }
      }
      info.textContent = n + ' samples, ' + ms(root.v) + (type === 'cpu' ? ' of CPU' : ' waited') +
        (scope === 'span' ? ' in span ' + (selSpan >= 0 ? D.names[S.name[selSpan]] + ' (' + procName(S.proc[selSpan]) + ')' : '(none selected)') : '') +
        (scope === 'trace' ? ' in the selected trace' + (selTrace >= 0 ? ' (' + D.names[S.name[D.traces[selTrace][0]]] + ')' : '') : '');
      return root;
    }
    function draw() {
      init();
      tree = build();
      const z = zoom || tree, W = Math.max(300, box.clientWidth - 20), RH = 18;
      const svgNS = 'http://www.w3.org/2000/svg', svg = document.createElementNS(svgNS, 'svg');
      if (!z.v) { box.replaceChildren(el('div', { class: 'empty', text: 'No samples here. Profiles are recorded with RINGSIDE_PROFILE=cpu,wait.' })); return; }
      const wait = typeSel.value === 'wait';
      let maxD = 0;
      const items = [];
      const anc = [];
      for (let a = z.up; a; a = a.up) anc.unshift(a);
      anc.forEach((a, d) => items.push([a, 0, W, d]));
      (function walk(node, x, d) {
        const w = node.v / z.v * W;
        if (w < 0.5) return;
        items.push([node, x, w, d]);
        if (d > maxD) maxD = d;
        let cx = x;
        for (const c of [...node.k.values()].sort((a, b) => b.v - a.v)) { walk(c, cx, d + 1); cx += c.v / z.v * W; }
      })(z, 0, anc.length);
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + ((maxD + 1) * RH));
      svg.setAttribute('height', (maxD + 1) * RH);
      for (const [node, x, w, d] of items) {
        const name = node.f === -1 ? 'all' : label(node.f);
        const g = document.createElementNS(svgNS, 'g');
        const r = document.createElementNS(svgNS, 'rect');
        let h = 0;
        for (let c = 0; c < name.length; c++) h = (h * 31 + name.charCodeAt(c)) >>> 0;
        const fill = node.f < -1 && node.f > -1000 ? procColor(-node.f - 2) : wait ? 'hsl(' + (195 + h % 40) + ',60%,' + (62 + h % 18) + '%)' : 'hsl(' + (h % 50) + ',80%,' + (58 + h % 20) + '%)';
        r.setAttribute('x', x); r.setAttribute('y', d * RH); r.setAttribute('width', Math.max(0.5, w)); r.setAttribute('height', RH - 1);
        r.setAttribute('fill', fill);
        const title = document.createElementNS(svgNS, 'title');
        title.textContent = name + ' — ' + ms(node.v) + ' (' + (100 * node.v / tree.v).toFixed(1) + '%)';
        r.append(title);
        g.append(r);
        if (w > 24) {
          const t = document.createElementNS(svgNS, 'text');
          t.setAttribute('x', x + 3); t.setAttribute('y', d * RH + 13);
          const fit = Math.floor((w - 6) / 6.2);
          t.textContent = name.length > fit ? name.slice(0, Math.max(0, fit - 1)) + '…' : name;
          g.append(t);
        }
        g.addEventListener('click', () => { zoom = node === tree ? null : node; draw(); });
        svg.append(g);
      }
      box.replaceChildren(svg);
    }
    return {
      show() { draw(); },
      focus(type, scope) { typeSel.value = type; scopeSel.value = scope; threadSel.value = -1; zoom = null; tab(1); },
    };
  })();

  let resizing = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (!pageProf.classList.contains('hidden')) flame.show(); }, 150);
  });

  // ---- first view: endpoints, the slowest traces and the slowest trace's waterfall
  fillTraces();
  if (listed.length) selectTrace(listed[0], -1);
  else wfBox.append(el('div', { class: 'empty', text: 'No spans were recorded.' }));
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.RS_FIRST_VIEW_MS = performance.now();
    document.body.dataset.ready = '1';
  }));
})();
