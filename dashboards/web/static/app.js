// Vigie dashboard: the map of France (overseas regions in insets), a
// region's page with its charts, two periods side by side, and the
// drill-down from an incident to its minutes and failing events, all read
// from /api/v1/ (dashboards/web/openapi.yaml). Every value drawn is also
// printed or in a table, so nothing needs a mouse or colour vision.
'use strict';
(function () {
  const V = window.Vigie;
  const { t, el } = V;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const HOUR = 3600e3, DAY = 24 * HOUR;
  let dataRange = null; // /api/v1/range
  let me = null; // /api/v1/me
  let mapShape = null; // static/vendor/france-regions.json
  let charts = []; // uPlot instances of the view shown, resized with the window
  let lastRegions = null;

  // --- the URL is the state -------------------------------------------------
  const FIELDS = ['platform', 'service', 'region', 'academy', 'from', 'to', 'grain', 'b_from'];
  function params() { return new URLSearchParams(location.search); }
  // The view shown: a region's page needs its region, a drill-down its
  // series; without them, the map.
  function view() {
    const p = params(), v = p.get('view') || 'map';
    if ((v === 'region' || v === 'drill') && !p.get('region')) return 'map';
    return ['map', 'region', 'compare', 'drill'].includes(v) ? v : 'map';
  }
  // The view a new range or filter leads to: the same, but a drill-down
  // goes back to its region's page (its range was the incident's).
  function nextView() { return view() === 'drill' ? 'region' : view(); }
  function formState() {
    const o = {};
    for (const f of FIELDS) o[f] = $(f).value.trim();
    return o;
  }
  function go(p, push) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(p)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
    const url = '?' + q.toString();
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    render();
  }
  // The API's range: the custom days, or a preset's times (held in the URL
  // as RFC 3339 so that a link shows the same hour again).
  function range(p) {
    const from = p.get('from') || (dataRange && dataRange.last_day) || '';
    return { from: from, to: p.get('to') || from };
  }
  function rangeQS(p) {
    const r = range(p);
    return 'from=' + encodeURIComponent(r.from) + '&to=' + encodeURIComponent(r.to);
  }
  function filterQS(p, keys) {
    let s = '';
    for (const k of keys) if (p.get(k)) s += '&' + k + '=' + encodeURIComponent(p.get(k));
    return s;
  }
  // ms of the range, for choosing a grain and skipping what is too long.
  function spanMs(p) {
    const r = range(p);
    const start = r.from.length === 10 ? Date.parse(r.from + 'T00:00:00Z') : Date.parse(r.from);
    const end = r.to.length === 10 ? Date.parse(r.to + 'T00:00:00Z') + DAY : Date.parse(r.to);
    return end - start;
  }
  // The grain asked, or one that keeps the answer small.
  function grainOf(p) {
    if (p.get('grain')) return p.get('grain');
    const d = spanMs(p);
    if (d <= 6 * HOUR) return 'minute';
    if (d <= 3 * DAY) return 'hour';
    if (d <= 120 * DAY) return 'day';
    return 'week';
  }

  // --- presets, relative to the most recent data (now, on a live server) ---
  function anchor() {
    const end = dataRange && dataRange.to ? Date.parse(dataRange.to) : Date.now();
    return new Date(Math.min(end, Date.now()));
  }
  function iso(d) { return d.toISOString().replace('.000Z', 'Z'); }
  function preset(name, refresh) {
    const a = anchor(), p = formState();
    p.view = nextView();
    if (name === 'hour') {
      p.from = iso(new Date(a.getTime() - HOUR));
      p.to = iso(a);
      p.grain = 'minute';
    } else {
      const last = V.parisDay(new Date(a.getTime() - 1));
      p.to = last;
      p.from = last;
      p.grain = 'hour';
      if (name === 'week') { // Monday of that Paris week
        const back = (new Date(last + 'T12:00:00Z').getUTCDay() + 6) % 7;
        p.from = new Date(Date.parse(last + 'T12:00:00Z') - back * DAY).toISOString().slice(0, 10);
      }
    }
    p.preset = name;
    if (params().get('colour')) p.colour = params().get('colour');
    go(p, !refresh); // a refresh replaces the address, a click adds to the history
  }

  // --- the map ----------------------------------------------------------------
  async function shape() {
    if (!mapShape) {
      const res = await fetch('static/vendor/france-regions.json');
      mapShape = await res.json();
    }
    return mapShape;
  }
  function svg(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function regionHref(code) {
    const p = params();
    p.set('view', 'region');
    p.set('region', code);
    p.delete('b_from');
    return '?' + p.toString();
  }
  function regionSentence(r) {
    const parts = [r.region.name + ' : ' + t('web.map.availability', { Value: V.pct(r.range && r.range.availability) })];
    if (r.live && r.live.availability !== undefined) parts.push(t('web.map.live', { Value: V.pct(r.live.availability) }));
    if (r.worst_service) parts.push(t('web.map.worst', { Service: r.worst_service.service, Value: V.pct(r.worst_service.availability) }));
    const open = (r.open_incidents || []).length;
    parts.push(open === 0 ? t('web.map.open.none') : t('web.map.open', { N: open }));
    return parts.join(' ; ');
  }
  function detail(r) {
    const box = $('map-detail');
    box.textContent = '';
    box.append(el('h3', {}, r.region.name + ' (' + r.region.code + ')'));
    const dl = el('dl');
    const row = (k, v) => { dl.append(el('dt', {}, k), el('dd', {}, v)); };
    row(t('web.col.availability'), V.pct(r.range && r.range.availability));
    row(t('web.col.live'), V.pct(r.live && r.live.availability));
    row(t('web.col.p95'), V.ms(r.range && r.range.p95_ms));
    row(t('web.col.worst'), r.worst_service ? r.worst_service.service + ' — ' + V.pct(r.worst_service.availability) : '–');
    row(t('web.col.open'), String((r.open_incidents || []).length));
    box.append(dl);
    for (const i of r.open_incidents || []) box.append(el('p', { class: 'open' }, i.service + ' : ' + t('web.since', { Time: V.dateTime(i.start) })));
    box.append(el('a', { href: regionHref(r.region.code) }, t('web.map.open_region')));
  }
  // The map is coloured by the range's availability, or live (the last 15
  // minutes with data), as the radio buttons above it say.
  function colourBy() { return params().get('colour') === 'live' ? 'live' : 'range'; }
  async function drawMap(data) {
    const m = await shape();
    const by = colourBy();
    const byCode = {};
    for (const r of data.regions) byCode[r.region.code] = r;
    const root = svg('svg', { viewBox: '0 0 ' + m.width + ' ' + m.height, role: 'group', 'aria-label': t('web.map.title') });
    for (const g of m.regions) {
      const r = byCode[g.code] || { region: { code: g.code, name: g.name }, range: null };
      const a = r[by] ? r[by].availability : null;
      if (g.inset) {
        root.append(svg('rect', { x: g.inset[0], y: g.inset[1], width: g.inset[2], height: g.inset[3], class: 'inset' }));
        root.append(svg('text', { x: g.inset[0] + 6, y: g.inset[1] + 16, class: 'inset-name' }, r.region.name));
      }
      const link = svg('a', { href: regionHref(g.code), class: 'region', 'data-region': g.code, 'aria-label': regionSentence(r) });
      link.append(svg('path', { d: g.d, fill: V.colour(a), 'data-availability': a === null || a === undefined ? '' : a }));
      const label = svg('text', { x: g.label[0], y: g.label[1], class: 'value', fill: V.textOn(a), 'text-anchor': 'middle' }, a === null || a === undefined ? '–' : V.pct(a));
      link.append(label);
      if ((r.open_incidents || []).length) {
        link.append(svg('text', { x: g.label[0], y: g.label[1] + 17, class: 'alert', fill: V.textOn(a), 'text-anchor': 'middle' }, '⚠ ' + r.open_incidents.length));
      }
      const show = () => detail(r);
      link.addEventListener('focus', show);
      link.addEventListener('mouseenter', show);
      root.append(link);
    }
    $('map').textContent = '';
    $('map').append(root);
    const worst = data.regions.filter((r) => r.range && r.range.availability !== null).sort((x, y) => x.range.availability - y.range.availability)[0];
    if (worst) detail(worst);
  }
  function drawRegionsTable(data) {
    const body = $('regions-table').tBodies[0];
    body.textContent = '';
    for (const r of data.regions) {
      const tr = body.insertRow();
      tr.className = 'region-row';
      const th = el('th', { scope: 'row' });
      th.append(el('a', { href: regionHref(r.region.code) }, r.region.name + ' (' + r.region.code + ')'));
      tr.append(th);
      const a = r.range ? r.range.availability : null;
      const cell = tr.insertCell();
      cell.className = 'num';
      const sw = el('span', { class: 'swatch' });
      sw.style.background = V.colour(a);
      cell.append(sw, document.createTextNode(' ' + V.pct(a)));
      for (const v of [V.pct(r.live && r.live.availability), V.ms(r.range && r.range.p95_ms),
        r.worst_service ? r.worst_service.service + ' (' + V.pct(r.worst_service.availability) + ')' : '–',
        V.int((r.open_incidents || []).length), V.int(r.episodes || 0)]) {
        const td = tr.insertCell();
        td.textContent = v;
        td.className = 'num';
      }
    }
  }

  // --- heatmap (one per platform) ---------------------------------------------
  function drawHeatmap(box, data) {
    const wrap = el('div', { class: 'heatmap' });
    wrap.append(el('h3', {}, t('web.platform.' + data.platform)));
    if (data.regions.length === 0) {
      wrap.append(el('p', { class: 'hint' }, t('web.heatmap.empty')));
      box.append(wrap);
      return 0;
    }
    const labelW = 200, top = 22, rowH = 22;
    const n = data.buckets.length;
    const avail = Math.max(300, (box.clientWidth || 1000) - labelW - 10);
    const cellW = Math.max(2, Math.min(48, Math.floor(avail / n)));
    const width = labelW + n * cellW + 10, height = top + data.regions.length * rowH + 4;
    const root = svg('svg', { width: width, height: height, role: 'img', 'aria-label': t('web.heatmap.title') + ' — ' + t('web.platform.' + data.platform) });
    const col = {}, row = {};
    data.buckets.forEach((b, i) => { col[b] = i; });
    const every = Math.ceil(40 / cellW);
    data.buckets.forEach((b, i) => {
      if (i % every) return;
      const p = V.paris(new Date(b));
      const lab = data.grain === 'day' || data.grain === 'week' ? p.day + '/' + p.month : p.hour + 'h' + (data.grain === 'minute' ? p.minute : '');
      root.append(svg('text', { x: labelW + i * cellW, y: top - 7, class: 'col' }, lab));
    });
    data.regions.forEach((r, i) => {
      row[r.code] = i;
      const y = top + i * rowH;
      root.append(svg('text', { x: 0, y: y + rowH - 7, class: 'row' }, r.name + ' (' + r.code + ')'));
      root.append(svg('rect', { x: labelW, y: y, width: n * cellW, height: rowH - 2, fill: V.NO_DATA, class: 'row-bg' }));
    });
    let drawn = 0;
    for (const c of data.cells) {
      const i = col[c.bucket], j = row[c.region];
      if (i === undefined || j === undefined) continue;
      const x = labelW + i * cellW, y = top + j * rowH;
      const rect = svg('rect', {
        x: x, y: y, width: cellW > 5 ? cellW - 1 : cellW, height: rowH - 2, fill: V.colour(c.availability), class: 'cell',
        'data-region': c.region, 'data-bucket': c.bucket, 'data-availability': c.availability === null ? '' : c.availability,
      });
      rect.append(svg('title', {}, (dataRange.region_names[c.region] || c.region) + ', ' + V.shortDateTime(c.bucket) + ' : ' + V.pct(c.availability) +
        ', ' + t('web.heatmap.cell', { Events: V.int(c.events), Failed: V.int(c.failed), P95: V.ms(c.p95_ms) })));
      root.append(rect);
      // Wide cells print their value: colour is not the only carrier.
      if (cellW >= 30 && c.availability !== null) {
        root.append(svg('text', { x: x + cellW / 2, y: y + rowH - 7, class: 'cellv', fill: V.textOn(c.availability), 'text-anchor': 'middle' },
          String(Math.floor(c.availability * 100))));
      }
      drawn++;
    }
    wrap.append(root);
    box.append(wrap);
    return drawn;
  }

  // --- episodes ---------------------------------------------------------------
  function drillHref(i) {
    // The incident with half an hour either side, within the API's 48 h.
    const start = Date.parse(i.start) - 30 * 60e3;
    const end = Math.min(Date.parse(i.end) + 30 * 60e3, start + 48 * HOUR);
    const p = new URLSearchParams();
    p.set('view', 'drill');
    p.set('platform', i.platform);
    p.set('service', i.service);
    p.set('region', i.region);
    p.set('from', iso(new Date(start)));
    p.set('to', iso(new Date(end)));
    if ($('academy').value.trim()) p.set('academy', $('academy').value.trim());
    return '?' + p.toString();
  }
  const EPISODE_COLS = ['start', 'duration', 'service', 'regions', 'worst_availability', 'worst_p95', 'users', 'explore'];
  function drawEpisodes(body, episodes, empty) {
    const head = body.parentElement.tHead;
    if (!head.rows.length) {
      const tr = head.insertRow();
      for (const c of EPISODE_COLS) tr.append(el('th', { scope: 'col' }, t('web.col.' + c)));
    }
    body.textContent = '';
    if (!episodes.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = EPISODE_COLS.length;
      td.textContent = empty;
      return;
    }
    for (const e of episodes) {
      const tr = body.insertRow();
      tr.className = 'episode' + (e.open ? ' open' : '');
      const regions = e.national ? t('web.national', { N: e.regions.length }) : e.regions.map((r) => r.name).join(', ');
      const cells = [V.dateTime(e.start) + (e.open ? ' — ' + t('web.ongoing') : ''), e.duration ? e.duration.text : '',
        t('web.platform.' + e.platform) + ' · ' + e.service, regions, V.pct(e.worst_availability), V.ms(e.worst_p95_ms), V.int(e.users_affected)];
      cells.forEach((v, k) => {
        const td = tr.insertCell();
        td.textContent = v;
        if (k >= 4) td.className = 'num';
      });
      const td = tr.insertCell();
      const incs = e.incidents || [];
      if (incs.length === 1) {
        td.append(el('a', { href: drillHref(incs[0]), class: 'drill' }, t('web.explore')));
      } else if (incs.length > 1) {
        const d = el('details');
        d.append(el('summary', {}, t('web.explore.n', { N: incs.length })));
        const ul = el('ul');
        for (const i of incs) {
          const li = el('li');
          li.append(el('a', { href: drillHref(i), class: 'drill' }, (i.region_name || i.region) + ' (' + (i.duration ? i.duration.text : i.minutes + ' min') + ')'));
          ul.append(li);
        }
        d.append(ul);
        td.append(d);
      }
    }
  }

  // --- charts -----------------------------------------------------------------
  // A chart is a uPlot figure and, under it, a table of the same values.
  const LINE = ['#2166ac', '#d55e00', '#1b7837', '#7b3294', '#000000'];
  const DASH = [[], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3]];
  function chart(box, title, xs, series, fmtY) {
    const fig = el('figure', { class: 'chart' });
    fig.append(el('figcaption', {}, title));
    const plot = el('div', { class: 'plot' });
    fig.append(plot);
    box.append(fig);
    // Times on the axis in Paris, 24-hour clock; days when the range is long.
    const secs = xs.map((x) => Date.parse(x) / 1000);
    const long = secs.length > 1 && secs[secs.length - 1] - secs[0] > 2 * 86400;
    const fmtX = (s) => (long ? V.date(s * 1000) : V.clock(s * 1000));
    const opts = {
      width: chartWidth(plot), height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Europe/Paris'),
      series: [{ label: t('web.col.time'), value: (u, v) => (v === null || v === undefined ? '–' : V.shortDateTime(v * 1000)) }]
        .concat(series.map((s, i) => ({
          label: s.label, stroke: LINE[i % LINE.length], dash: DASH[i % DASH.length], width: 2,
          scale: s.count ? 'n' : 'y', value: (u, v) => (s.count ? intY(v) : fmtY(v)),
        }))),
      axes: [{ values: (u, splits) => splits.map(fmtX) }, { scale: 'y', values: (u, vals) => vals.map(fmtY), size: 70 }],
      scales: { n: { auto: true } },
      legend: { live: true },
    };
    // A series of counts beside durations gets its own axis, on the right.
    if (series.some((s) => s.count)) opts.axes.push({ scale: 'n', side: 1, values: (u, vals) => vals.map(intY), size: 60, grid: { show: false } });
    const u = new uPlot(opts, [secs].concat(series.map((s) => s.values)), plot);
    charts.push(u);
    // The values, for keyboards, screen readers and printing.
    const d = el('details');
    d.append(el('summary', {}, t('web.chart.values')));
    const tbl = el('table', { class: 'values' });
    const head = tbl.createTHead().insertRow();
    head.append(el('th', { scope: 'col' }, t('web.col.time')));
    for (const s of series) head.append(el('th', { scope: 'col' }, s.label));
    const body = tbl.createTBody();
    xs.forEach((x, i) => {
      const tr = body.insertRow();
      tr.append(el('th', { scope: 'row' }, V.shortDateTime(x)));
      for (const s of series) {
        const td = tr.insertCell();
        td.className = 'num';
        td.textContent = s.count ? intY(s.values[i]) : fmtY(s.values[i]);
      }
    });
    d.append(tbl);
    fig.append(d);
    return u;
  }
  const pctY = (v) => (v === null || v === undefined ? '–' : V.pct(v));
  const msY = (v) => (v === null || v === undefined ? '–' : V.ms(v));
  const intY = (v) => (v === null || v === undefined ? '–' : V.int(v));
  function pointCharts(box, points, which) {
    const xs = points.map((p) => p.bucket);
    const col = (k) => points.map((p) => (p[k] === undefined ? null : p[k]));
    if (which.includes('availability')) chart(box, t('web.chart.availability'), xs, [{ label: t('web.col.availability'), values: col('availability') }], pctY);
    if (which.includes('latency')) chart(box, t('web.chart.latency'), xs, [{ label: 'p50', values: col('p50_ms') }, { label: 'p95', values: col('p95_ms') }, { label: 'p99', values: col('p99_ms') }], msY);
    if (which.includes('outcomes')) {
      chart(box, t('web.chart.outcomes'), xs, ['ok', 'errors', 'timeouts', 'rejected', 'queued'].map((k) => ({ label: t('web.outcome.' + k), values: col(k) })), intY);
    }
    if (which.includes('queue')) {
      chart(box, t('web.chart.queue'), xs, [{ label: t('web.queue.mean'), values: col('mean_queue_ms') }, { label: t('web.queue.max'), values: col('max_queue_ms') },
        { label: t('web.outcome.queued'), values: col('queued'), count: true }], msY);
    }
    if (which.includes('sessions')) chart(box, t('web.chart.sessions'), xs, [{ label: t('web.sessions.open'), values: col('open_sessions') }, { label: t('web.sessions.started'), values: col('sessions_started') }], intY);
    fitCharts();
  }
  // A chart fills its figure, which the grid sizes to the screen.
  function chartWidth(plot) { return Math.max(260, (plot.clientWidth || 600) - 4); }
  // fitCharts sizes every chart to its figure once all are laid out (the
  // grid's columns depend on how many figures it holds).
  function fitCharts() {
    for (const c of charts) c.setSize({ width: chartWidth(c.root.parentElement), height: 220 });
  }
  function clearCharts() {
    for (const c of charts) c.destroy();
    charts = [];
  }
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(fitCharts, 200);
  });

  // --- views --------------------------------------------------------------------
  function setStatus(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  }
  function rangeText(from, to) { return t('web.range.text', { From: V.dateTime(from), To: V.dateTime(to) }); }

  async function showMap(p, stale) {
    const qs = rangeQS(p);
    const filters = filterQS(p, ['platform', 'service', 'region']);
    const grain = grainOf(p);
    const platforms = p.get('platform') ? [p.get('platform')] : ['ent', 'cned'];
    for (const r of document.querySelectorAll('input[name="colour"]')) r.checked = r.value === colourBy();
    for (const f of ['html', 'md', 'json']) $('report-' + f).href = 'api/v1/report?' + qs + '&format=' + f;
    // The map and the incidents of more than a month are not asked for
    // (the API keeps them to 31 days): the heatmap still shows, by day or
    // week, and the comparison view compares long periods.
    const tooLong = spanMs(p) > 31 * DAY;
    // Each part is drawn as soon as its answer comes: the map does not
    // wait for the incidents.
    const errors = [];
    let cells = 0, episodes = 0;
    const part = (promise, draw) => promise.then((v) => { if (!stale()) return draw(v); }, (e) => { errors.push(e.message); });
    const box = $('heatmap');
    box.textContent = '';
    const slots = platforms.map(() => box.appendChild(el('div')));
    await Promise.all([
      part(tooLong ? Promise.resolve(null) : V.getJSON('api/v1/regions?' + qs + filters), async (regions) => {
        if (!regions) {
          $('map').textContent = t('web.map.toolong');
          $('map-detail').textContent = '';
          $('regions-table').tBodies[0].textContent = '';
          return;
        }
        lastRegions = regions;
        V.setBins(regions.bins);
        V.legend($('legend'));
        $('range-text').textContent = rangeText(regions.from, regions.to) +
          (regions.as_of ? ' ' + t('web.live.asof', { Time: V.dateTime(regions.as_of) }) : '');
        await drawMap(regions);
        drawRegionsTable(regions);
      }),
      part(tooLong ? Promise.resolve(null) : V.getJSON('api/v1/incidents?' + qs + filters), (inc) => {
        const list = inc ? inc.episodes || [] : [];
        episodes = list.length;
        drawEpisodes($('episodes').tBodies[0], list, t(inc ? 'web.episodes.none' : 'web.episodes.toolong'));
      }),
      ...platforms.map((pl, i) => part(V.getJSON('api/v1/availability?' + qs + '&platform=' + pl + '&grain=' + grain + filterQS(p, ['service', 'region'])), (g) => {
        slots[i].textContent = '';
        cells += drawHeatmap(slots[i], g);
      })),
    ]);
    if (errors.length) throw new Error(errors.join(' — '));
    setStatus(t('web.status.map', { Cells: V.int(cells), Episodes: V.int(episodes) }));
  }


  async function showRegion(p) {
    const code = p.get('region');
    const d = await V.getJSON('api/v1/regions/' + encodeURIComponent(code) + '?' + rangeQS(p) + '&grain=' + grainOf(p) + filterQS(p, ['platform', 'service']));
    $('region-title').textContent = d.region.name + ' (' + d.region.code + ')';
    $('region-range').textContent = rangeText(d.from, d.to) + ' · ' + t('web.grain.' + d.grain);
    const body = $('services-table').tBodies[0];
    body.textContent = '';
    for (const s of d.services || []) {
      const tr = body.insertRow();
      tr.append(el('th', { scope: 'row' }, t('web.platform.' + s.platform) + ' · ' + s.service));
      for (const v of [V.pct(s.availability), V.int(s.events), V.int(s.failed), V.int(s.queued), V.ms(s.p50_ms), V.ms(s.p95_ms), V.ms(s.p99_ms)]) {
        const td = tr.insertCell();
        td.className = 'num';
        td.textContent = v;
      }
    }
    const pick = $('series');
    const series = d.series || [];
    pick.textContent = '';
    series.forEach((s, i) => pick.append(el('option', { value: String(i) }, s.service === '*' ? t('web.region.all_services') : t('web.platform.' + s.platform) + ' · ' + s.service)));
    const draw = () => {
      clearCharts();
      $('region-charts').textContent = '';
      const s = series[+pick.value || 0];
      if (s) pointCharts($('region-charts'), s.points || [], ['availability', 'latency', 'outcomes', 'queue', 'sessions']);
    };
    pick.onchange = draw;
    draw();
    drawEpisodes($('region-episodes').tBodies[0], d.episodes || [], t('web.episodes.none'));
    setStatus(t('web.status.region', { Services: V.int((d.services || []).length), Episodes: V.int((d.episodes || []).length) }));
  }

  async function showCompare(p) {
    const a = range(p);
    const bFrom = p.get('b_from');
    if (!bFrom) {
      setStatus(t('web.compare.pick'));
      return;
    }
    // The second period is as long as the first: same number of days.
    const days = a.from.length === 10 && a.to.length === 10 ? Math.round((Date.parse(a.to) - Date.parse(a.from)) / DAY) : 0;
    const bTo = new Date(Date.parse(bFrom + 'T12:00:00Z') + days * DAY).toISOString().slice(0, 10);
    const q = 'a_from=' + encodeURIComponent(a.from) + '&a_to=' + encodeURIComponent(a.to) + '&b_from=' + encodeURIComponent(bFrom) +
      '&b_to=' + bTo + '&grain=' + (p.get('grain') || 'hour') + filterQS(p, ['platform', 'service', 'region']);
    const c = await V.getJSON('api/v1/compare?' + q);
    const totals = $('compare-totals');
    totals.textContent = '';
    const label = (per) => V.date(per.from) + (V.parisDay(new Date(Date.parse(per.to) - 1)) !== V.parisDay(new Date(per.from)) ? ' → ' + V.date(Date.parse(per.to) - 1) : '');
    for (const [k, per] of [['A', c.a], ['B', c.b]]) {
      const card = el('div', { class: 'card period-' + k });
      card.append(el('h3', {}, k + ' — ' + label(per)));
      const dl = el('dl');
      const tot = per.total || {};
      for (const [name, v] of [[t('web.col.availability'), V.pct(tot.availability)], [t('web.col.events'), V.int(tot.events)],
        [t('web.col.failed'), V.int(tot.failed)], ['p95', V.ms(tot.p95_ms)], [t('web.col.episodes'), V.int(per.episodes)]]) {
        dl.append(el('dt', {}, name), el('dd', {}, v));
      }
      card.append(dl);
      totals.append(card);
    }
    $('compare-a-head').textContent = 'A — ' + label(c.a);
    $('compare-b-head').textContent = 'B — ' + label(c.b);
    const body = $('compare-table').tBodies[0];
    body.textContent = '';
    const bBy = {};
    for (const r of c.b.regions || []) bBy[r.region.code] = r;
    for (const r of c.a.regions || []) {
      const b = bBy[r.region.code] || {};
      const tr = body.insertRow();
      tr.append(el('th', { scope: 'row' }, r.region.name + ' (' + r.region.code + ')'));
      const delta = r.availability !== null && b.availability !== null && b.availability !== undefined ? (b.availability - r.availability) * 100 : null;
      for (const v of [V.pct(r.availability), V.pct(b.availability), delta === null ? '–' : (delta > 0 ? '+' : '') + delta.toFixed(1).replace('.', V.lang() === 'fr' ? ',' : '.') + ' pt']) {
        const td = tr.insertCell();
        td.className = 'num';
        td.textContent = v;
      }
    }
    // Both periods on one time axis: the offset from each start, drawn on
    // the first period's clock.
    clearCharts();
    $('compare-charts').textContent = '';
    const start = Date.parse(c.a.from);
    const offs = [...new Set((c.a.series || []).concat(c.b.series || []).map((s) => s.offset_minutes))].sort((x, y) => x - y);
    const at = (series, k) => {
      const m = {};
      for (const s of series || []) m[s.offset_minutes] = s[k];
      return offs.map((o) => (m[o] === undefined ? null : m[o]));
    };
    const xs = offs.map((o) => new Date(start + o * 60e3).toISOString());
    chart($('compare-charts'), t('web.chart.availability'), xs, [{ label: 'A', values: at(c.a.series, 'availability') }, { label: 'B', values: at(c.b.series, 'availability') }], pctY);
    chart($('compare-charts'), t('web.col.p95'), xs, [{ label: 'A', values: at(c.a.series, 'p95_ms') }, { label: 'B', values: at(c.b.series, 'p95_ms') }], msY);
    fitCharts();
    setStatus(t('web.status.compare', { A: label(c.a), B: label(c.b) }));
  }

  async function showDrill(p) {
    const q = rangeQS(p) + filterQS(p, ['platform', 'service', 'region', 'academy']);
    const d = await V.getJSON('api/v1/drilldown?' + q);
    $('drill-title').textContent = t('web.drill.title', { Service: d.service, Region: d.region.name });
    $('drill-range').textContent = rangeText(d.from, d.to);
    clearCharts();
    $('drill-charts').textContent = '';
    pointCharts($('drill-charts'), d.series || [], ['availability', 'latency', 'outcomes']);
    const ev = d.events || {};
    const head = $('drill-events').tHead, body = $('drill-events').tBodies[0];
    head.textContent = '';
    body.textContent = '';
    const cols = ev.raw ? ['ts', 'academy', 'kind', 'outcome', 'status', 'latency_ms', 'user', 'attrs'] : ['outcome', 'status', 'kind', 'academy', 'count'];
    const hr = head.insertRow();
    for (const c of cols) hr.append(el('th', { scope: 'col' }, t('web.event.' + c)));
    const rows = ev.raw ? ev.sample || [] : ev.groups || [];
    for (const r of rows) {
      const tr = body.insertRow();
      for (const c of cols) {
        const td = tr.insertCell();
        let v = r[c];
        if (c === 'ts') v = V.shortDateTime(v) + ':' + new Date(v).toISOString().slice(17, 23);
        else if (c === 'latency_ms') v = V.ms(v);
        else if (c === 'count') v = V.int(v);
        else if (c === 'attrs') v = Object.entries(v || {}).map(([k, x]) => k + '=' + x).join(' ');
        else if (c === 'outcome') v = t('web.outcome.' + (v === 'error' ? 'errors' : v === 'timeout' ? 'timeouts' : v));
        td.textContent = v === undefined || v === null || v === '' ? '–' : String(v);
        if (c === 'count' || c === 'status' || c === 'latency_ms') td.className = 'num';
      }
    }
    $('drill-events-hint').textContent = (ev.raw ? t('web.drill.raw', { N: V.int(rows.length), Total: V.int(ev.total) }) : t('web.drill.aggregated', { Total: V.int(ev.total) }));
    const engineer = me && (me.open || (me.roles || []).includes('engineer'));
    const sql = d.sql || {};
    $('drill-sql').hidden = !(engineer && (sql.series || sql.events));
    $('sql-series').textContent = sql.series || '';
    $('sql-events').textContent = sql.events || '';
    const back = new URLSearchParams(p);
    back.set('view', 'region');
    $('back-drill').href = '?' + back.toString();
    setStatus(t('web.status.drill', { Minutes: V.int((d.series || []).length), Total: V.int(ev.total) }));
  }

  // --- filters' choices -------------------------------------------------------
  function fillChoices() {
    const sel = $('region');
    for (const r of dataRange.regions || Object.entries(dataRange.region_names || {}).map(([code, name]) => ({ code, name }))) {
      sel.append(el('option', { value: r.code }, r.name + ' (' + r.code + ')'));
    }
    const svc = $('service');
    for (const s of dataRange.services || []) svc.append(el('option', { value: s.service, 'data-platform': s.platform }, s.service));
  }
  // The service list offers the chosen platform's services only.
  function syncServices() {
    const pl = $('platform').value;
    for (const o of $('service').options) if (o.value) o.hidden = pl !== '' && o.dataset.platform !== pl;
    if ($('service').selectedOptions[0] && $('service').selectedOptions[0].hidden) $('service').value = '';
  }
  function syncForm(p) {
    for (const f of FIELDS) {
      const v = f === 'from' || f === 'to' ? (range(p)[f] || '').slice(0, 10) : p.get(f) || '';
      $(f).value = v;
    }
    for (const b of document.querySelectorAll('[data-preset]')) b.setAttribute('aria-pressed', String(b.dataset.preset === p.get('preset')));
    syncServices();
  }

  // --- rendering ----------------------------------------------------------------
  let generation = 0;
  async function render() {
    const p = params();
    const v = view();
    const mine = ++generation;
    document.body.dataset.view = v;
    document.body.dataset.state = 'loading';
    for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + v;
    for (const a of document.querySelectorAll('#nav a')) a.removeAttribute('aria-current');
    const nav = $('nav-' + (v === 'compare' ? 'compare' : 'map'));
    if (nav) nav.setAttribute('aria-current', 'page');
    syncForm(p);
    if (v !== 'drill' && v !== 'region') clearCharts();
    setStatus(t('web.loading'));
    try {
      if (dataRange.empty && !p.get('from')) {
        setStatus(t('web.empty'));
        document.body.dataset.state = 'empty';
        return;
      }
      if (v === 'region') await showRegion(p);
      else if (v === 'compare') await showCompare(p);
      else if (v === 'drill') await showDrill(p);
      else await showMap(p, () => mine !== generation);
      if (mine === generation) document.body.dataset.state = 'ready';
    } catch (e) {
      if (mine !== generation) return;
      setStatus(t('web.error', { Message: e.message }), true);
      document.body.dataset.state = 'error';
    }
  }

  async function who() {
    me = await V.getJSON('api/v1/me').catch(() => null);
    if (!me) return;
    const box = $('who');
    box.hidden = false;
    if (me.open) {
      box.className = 'open-mode';
      box.textContent = t('web.open_mode');
      return;
    }
    box.textContent = me.name + ' (' + (me.roles || []).join(', ') + ') ';
    if (me.csrf) {
      const f = el('form', { method: 'post', action: 'logout' });
      f.append(el('input', { type: 'hidden', name: 'csrf', value: me.csrf }));
      f.append(el('button', { type: 'submit' }, t('web.logout')));
      box.append(f);
    }
  }

  async function start() {
    await V.load();
    const other = V.lang() === 'fr' ? 'en' : 'fr';
    $('lang').textContent = other === 'en' ? 'English' : 'Français';
    $('lang').lang = other;
    $('lang').addEventListener('click', () => {
      V.setLang(other);
      const p = params();
      p.set('lang', other);
      location.search = p.toString();
    });
    document.title = t('web.title');
    V.legend($('legend'));
    // Who is looking and where the data is, asked together.
    const range = V.getJSON('api/v1/range').then((r) => ({ r }), (e) => ({ e }));
    await who();
    const got = await range;
    dataRange = got.r;
    if (got.e) {
      const e = got.e;
      setStatus(t('web.error', { Message: e.message }), true);
      document.body.dataset.state = 'error';
      return;
    }
    fillChoices();
    $('controls').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const p = formState();
      p.view = nextView();
      if (params().get('colour')) p.colour = params().get('colour');
      go(p, true);
    });
    for (const b of document.querySelectorAll('[data-preset]')) b.addEventListener('click', () => preset(b.dataset.preset));
    $('platform').addEventListener('change', syncServices);
    for (const r of document.querySelectorAll('input[name="colour"]')) {
      r.addEventListener('change', () => {
        const p = params();
        if (r.value === 'live') p.set('colour', 'live');
        else p.delete('colour');
        history.replaceState(null, '', '?' + p.toString());
        if (lastRegions) drawMap(lastRegions);
      });
    }
    window.addEventListener('popstate', render);
    await render();
  }

  // Live: while the range shown ends at the most recent data, redraw every
  // minute.
  setInterval(() => {
    const p = params();
    if (document.body.dataset.state === 'ready' && (p.get('preset') === 'hour' || p.get('preset') === 'today') && (view() === 'map' || view() === 'region')) {
      V.getJSON('api/v1/range').then((r) => { dataRange = r; preset(p.get('preset'), true); }).catch(() => {});
    }
  }, 60000);

  start();
})();
