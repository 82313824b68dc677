// Vigie public status page, for parents and teachers: every region's state
// in plain words, or one region's now, over the last days and its open
// incidents. It reads /api/v1/status only (aggregates, no login) and needs
// no library.
'use strict';
(function () {
  const V = window.Vigie;
  const { t, el } = V;
  const $ = (id) => document.getElementById(id);
  const region = document.body.dataset.region;

  function state(s) { return t('web.public.state.' + (s || 'unknown')); }

  function card(r, full) {
    const box = el(full ? 'section' : 'li', { class: full ? 'status-region' : 'status-item', 'data-status': r.state || 'unknown' });
    const h = el(full ? 'h2' : 'h3');
    if (full) h.textContent = r.region.name;
    else h.append(el('a', { href: 'status/' + r.region.code }, r.region.name));
    box.append(h);
    box.append(el('p', { class: 'state' }, r.state_text || state(r.state)));
    if (r.now) box.append(el('p', {}, t('web.public.now', { Value: V.pct(r.now.availability) })));
    for (const i of r.open_incidents || []) box.append(el('p', { class: 'incident' }, i.text));
    if (!full) return box;
    if ((r.platforms || []).length) {
      box.append(el('h3', {}, t('web.public.platforms')));
      const ul = el('ul');
      for (const p of r.platforms) ul.append(el('li', { 'data-status': p.state || 'unknown' }, (p.name || p.platform) + ' : ' + state(p.state) + ' (' + V.pct(p.availability) + ')'));
      box.append(ul);
    }
    if ((r.days || []).length) {
      box.append(el('h3', {}, t('web.public.days')));
      const tbl = el('table', { class: 'days-table' });
      const head = tbl.createTHead().insertRow();
      head.append(el('th', { scope: 'col' }, t('web.public.day')), el('th', { scope: 'col' }, t('web.public.share')));
      const body = tbl.createTBody();
      for (const d of r.days) {
        const tr = body.insertRow();
        tr.append(el('th', { scope: 'row' }, V.date(d.day + 'T12:00:00Z')));
        const td = tr.insertCell();
        td.className = 'num';
        const sw = el('span', { class: 'swatch' });
        sw.style.background = V.colour(d.availability);
        td.append(sw, document.createTextNode(' ' + V.pct(d.availability)));
      }
      box.append(tbl);
    }
    return box;
  }

  async function start() {
    await V.load();
    const other = V.lang() === 'fr' ? 'en' : 'fr';
    $('lang').textContent = other === 'en' ? 'English' : 'Français';
    $('lang').lang = other;
    $('lang').addEventListener('click', () => { V.setLang(other); location.search = 'lang=' + other; });
    document.title = t('web.public.title');
    try {
      const d = await V.getJSON('api/v1/status' + (region ? '/' + encodeURIComponent(region) : ''));
      const content = $('content');
      if (region) {
        $('title').textContent = t('web.public.region_title', { Region: d.region.name });
        document.title = $('title').textContent;
        content.append(card(d, true));
      } else {
        if (d.as_of) $('asof').textContent = t('web.public.asof', { Time: V.dateTime(d.as_of) });
        const ul = el('ul', { class: 'status-list' });
        for (const r of d.regions || []) ul.append(card(r, false));
        content.append(ul);
      }
      $('status').textContent = '';
      document.body.dataset.state = 'ready';
    } catch (e) {
      $('status').textContent = t('web.public.error');
      document.body.dataset.state = 'error';
    }
  }
  start();
  // The page says it is updated every minute: it reloads itself.
  setInterval(() => { if (document.visibilityState === 'visible') location.reload(); }, 60000);
})();
