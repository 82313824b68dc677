// Vigie dashboard: draws the region × time availability heatmap (SVG) and
// the incident list from /api/v1/. Plain JavaScript, no library, no network
// beyond this server: the page must work on an offline machine.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const TZ = 'Europe/Paris';
  let regionNames = {};

  // --- Paris time -----------------------------------------------------------
  const partsFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
  function paris(date) {
    const o = {};
    for (const p of partsFmt.formatToParts(date)) o[p.type] = p.value;
    return o;
  }
  // Paris offset from UTC at that instant, in ms.
  function offsetMs(date) {
    const p = paris(date);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - Math.floor(date.getTime() / 60000) * 60000;
  }
  // The UTC instant of midnight in Paris on day "YYYY-MM-DD".
  function parisMidnight(day) {
    const [y, m, d] = day.split('-').map(Number);
    const wall = Date.UTC(y, m - 1, d);
    let t = wall - offsetMs(new Date(wall));
    t = wall - offsetMs(new Date(t)); // once more in case the guess crossed a DST change
    return new Date(t);
  }
  function addDays(day, n) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
  }
  function hhmm(iso) { const p = paris(new Date(iso)); return p.hour + ':' + p.minute; }
  function dayHHMM(iso) { const p = paris(new Date(iso)); return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute; }

  // --- colours --------------------------------------------------------------
  // Red at 50 % or less, through orange and yellow (95 %, the usual target),
  // to green at 100 %: the range where a remote-school morning is decided.
  const STOPS = [[0.5, [178, 24, 43]], [0.8, [244, 109, 67]], [0.95, [254, 224, 139]], [0.99, [166, 217, 106]], [1, [26, 152, 80]]];
  const NO_DATA = '#d9d9d9';
  function colour(a) {
    if (a === null || a === undefined) return NO_DATA;
    if (a <= STOPS[0][0]) return rgb(STOPS[0][1]);
    for (let i = 1; i < STOPS.length; i++) {
      if (a <= STOPS[i][0]) {
        const [a0, c0] = STOPS[i - 1], [a1, c1] = STOPS[i];
        const f = (a - a0) / (a1 - a0);
        return rgb(c0.map((v, k) => Math.round(v + (c1[k] - v) * f)));
      }
    }
    return rgb(STOPS[STOPS.length - 1][1]);
  }
  function rgb(c) { return 'rgb(' + c.join(',') + ')'; }
  function pct(a) { return a === null || a === undefined ? 'no attempt' : (Math.floor(a * 1000 + 1e-9) / 10).toFixed(1) + ' %'; }

  function drawLegend() {
    const el = $('legend');
    el.textContent = 'Availability:';
    for (const [a, label] of [[0.5, '≤ 50 %'], [0.8, '80 %'], [0.95, '95 %'], [0.99, '99 %'], [1, '100 %'], [null, 'no data']]) {
      const s = document.createElement('span');
      s.className = 'swatch';
      s.style.background = colour(a);
      el.append(s, document.createTextNode(label));
    }
  }

  // --- heatmap --------------------------------------------------------------
  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawHeatmap(data) {
    const box = $('heatmap');
    box.textContent = '';
    $('heatmap-title').textContent = 'Availability by region and ' + data.grain + ': ' + data.platform.toUpperCase();
    if (data.regions.length === 0) {
      box.textContent = 'No ' + data.platform.toUpperCase() + ' traffic in this range.';
      return 0;
    }
    const labelW = 230, top = 24, rowH = 22;
    const n = data.buckets.length;
    const avail = Math.max(300, (box.clientWidth || 1000) - labelW - 10);
    const cellW = Math.max(2, Math.min(40, Math.floor(avail / n)));
    const width = labelW + n * cellW + 10, height = top + data.regions.length * rowH + 4;
    const svg = el('svg', { width: width, height: height, role: 'img', 'aria-label': 'availability heatmap' });
    const col = {};
    data.buckets.forEach((b, i) => { col[b] = i; });
    // Column labels: every hour, and for minutes each full hour.
    data.buckets.forEach((b, i) => {
      const p = paris(new Date(b));
      if (data.grain === 'hour' || p.minute === '00') {
        const step = data.grain === 'hour' ? Math.ceil(30 / cellW) : Math.ceil(30 / (cellW * 60));
        const idx = data.grain === 'hour' ? i : Math.floor(i / 60);
        if (idx % step === 0) svg.append(el('text', { x: labelW + i * cellW, y: top - 8, class: 'col' }, p.hour + 'h'));
      }
    });
    const row = {};
    data.regions.forEach((r, i) => {
      row[r.code] = i;
      const y = top + i * rowH;
      svg.append(el('text', { x: 0, y: y + rowH - 7, class: 'row' }, r.name + ' (' + r.code + ')'));
      svg.append(el('rect', { x: labelW, y: y, width: n * cellW, height: rowH - 2, fill: NO_DATA, class: 'row-bg' }));
    });
    let drawn = 0;
    for (const c of data.cells) {
      const i = col[c.bucket], j = row[c.region];
      if (i === undefined || j === undefined) continue;
      const rect = el('rect', {
        x: labelW + i * cellW, y: top + j * rowH, width: cellW > 5 ? cellW - 1 : cellW, height: rowH - 2,
        fill: colour(c.availability), class: 'cell', 'data-region': c.region, 'data-bucket': c.bucket,
        'data-availability': c.availability === null ? '' : c.availability,
      });
      rect.append(el('title', {}, (regionNames[c.region] || c.region) + ', ' + dayHHMM(c.bucket) + ': ' + pct(c.availability) +
        ', ' + c.events + ' attempts, ' + c.failed + ' failed, p95 ' + Math.round(c.p95_ms) + ' ms'));
      svg.append(rect);
      drawn++;
    }
    box.append(svg);
    return drawn;
  }

  // --- incidents ------------------------------------------------------------
  function drawIncidents(f, platform) {
    const body = $('incidents').querySelector('tbody');
    body.textContent = '';
    const list = f.incidents.filter((i) => i.platform === platform);
    if (list.length === 0) {
      const tr = body.insertRow();
      const td = tr.insertCell();
      td.colSpan = 10;
      td.textContent = 'No ' + platform.toUpperCase() + ' incident in this range.';
      return;
    }
    for (const i of list) {
      const tr = body.insertRow();
      tr.className = 'incident';
      const cells = [dayHHMM(i.start), hhmm(i.end), i.minutes + ' min', i.platform.toUpperCase(), i.service,
        (regionNames[i.region] || i.region) + ' (' + i.region + ')',
        i.reason.replace('+', ' and '), pct(i.worst_availability), Math.round(i.worst_p95_ms) + ' ms', String(i.users_affected)];
      cells.forEach((v, k) => {
        const td = tr.insertCell();
        td.textContent = v;
        if (k >= 7) td.className = 'num';
      });
    }
  }

  // --- loading --------------------------------------------------------------
  async function getJSON(url) {
    const res = await fetch(url);
    if (res.status === 401) { // the session expired: log in again, then come back here
      location.assign('login?next=' + encodeURIComponent(location.pathname + location.search));
      throw new Error('not logged in');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.status + ' ' + res.statusText);
    return body;
  }

  async function show() {
    const platform = $('platform').value, grain = $('grain').value;
    const fromDay = $('from').value, toDay = $('to').value || fromDay;
    if (!fromDay) return;
    const from = parisMidnight(fromDay).toISOString().replace('.000Z', 'Z');
    const to = parisMidnight(addDays(toDay, 1)).toISOString().replace('.000Z', 'Z');
    const qs = 'from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to);
    document.body.dataset.state = 'loading';
    $('status').className = '';
    $('status').textContent = 'Loading…';
    try {
      const [grid, inc] = await Promise.all([
        getJSON('api/v1/availability?' + qs + '&platform=' + platform + '&grain=' + grain),
        getJSON('api/v1/incidents?' + qs),
      ]);
      for (const f of ['html', 'md', 'json']) $('report-' + f).href = 'api/v1/report?' + qs + '&format=' + f;
      const drawn = drawHeatmap(grid);
      drawIncidents(inc, platform);
      $('status').textContent = grid.regions.length + ' regions × ' + grid.buckets.length + ' ' + grain + 's, ' + drawn +
        ' cells with data; ' + inc.incidents.filter((i) => i.platform === platform).length + ' incidents.';
      history.replaceState(null, '', '?platform=' + platform + '&from=' + fromDay + '&to=' + toDay + '&grain=' + grain);
      document.body.dataset.state = 'ready';
    } catch (e) {
      $('status').className = 'error';
      $('status').textContent = 'Could not load: ' + e.message;
      document.body.dataset.state = 'error';
    }
  }

  async function start() {
    drawLegend();
    const params = new URLSearchParams(location.search);
    for (const k of ['platform', 'grain']) if (params.get(k)) $(k).value = params.get(k);
    try {
      const r = await getJSON('api/v1/range');
      regionNames = r.region_names || {};
      if (r.empty && !params.get('from')) {
        $('status').textContent = 'The warehouse has no data yet.';
        document.body.dataset.state = 'empty';
        return;
      }
      $('from').value = params.get('from') || r.last_day;
      $('to').value = params.get('to') || params.get('from') || r.last_day;
    } catch (e) {
      $('status').className = 'error';
      $('status').textContent = 'Could not load: ' + e.message;
      document.body.dataset.state = 'error';
      return;
    }
    await show();
  }

  // Live: while the range shown includes today (Paris), redraw every minute.
  setInterval(() => {
    const p = paris(new Date()), today = p.year + '-' + p.month + '-' + p.day;
    if (document.body.dataset.state === 'ready' && $('to').value >= today && $('from').value <= today) show();
  }, 60000);

  // Who is looking: the user and a logout button, or the warning that this
  // server asks nobody (the demo, a loopback server nobody was configured on).
  async function who() {
    const me = await getJSON('api/v1/me').catch(() => null);
    if (!me) return;
    const el = $('who');
    el.hidden = false;
    if (me.open) {
      el.className = 'open-mode';
      el.textContent = 'Sans authentification : ce serveur ne demande à personne qui il est, il n\u2019écoute que sur cette machine. / No authentication: this server asks nobody who they are and listens on this machine only.';
      return;
    }
    el.textContent = me.name + ' (' + me.roles.join(', ') + ') ';
    if (me.csrf) {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = 'logout';
      const c = document.createElement('input');
      c.type = 'hidden'; c.name = 'csrf'; c.value = me.csrf;
      const b = document.createElement('button');
      b.type = 'submit'; b.textContent = 'Se déconnecter / log out';
      f.append(c, b);
      el.append(f);
    }
  }

  $('controls').addEventListener('submit', (ev) => { ev.preventDefault(); show(); });
  who();
  for (const id of ['platform', 'grain']) $(id).addEventListener('change', show);
  start();
})();
