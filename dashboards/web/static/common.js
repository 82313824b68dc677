// Vigie pages' shared words and numbers: the message catalogue of the
// language chosen (served by this server at i18n/<lang>, the web.* ids of
// internal/i18n), numbers and Paris dates as that language writes them, the
// colour scale, and fetching JSON. No library, no network beyond this
// server: the pages must work on an offline machine.
'use strict';
window.Vigie = (function () {
  const TZ = 'Europe/Paris';
  const NBSP = '\u00a0';
  const LANGS = ['fr', 'en'];
  let lang = 'fr';
  let messages = {};

  // The language: ?lang= first, then the one chosen before on this
  // browser, then the browser's own; French when none is spoken here.
  function pickLang() {
    const q = new URLSearchParams(location.search).get('lang');
    let stored = null;
    try { stored = localStorage.getItem('vigie.lang'); } catch (e) { /* private mode */ }
    for (const c of [q, stored, ...(navigator.languages || [navigator.language])]) {
      const base = String(c || '').toLowerCase().slice(0, 2);
      if (LANGS.includes(base)) return base;
    }
    return 'fr';
  }
  function setLang(l) {
    try { localStorage.setItem('vigie.lang', l); } catch (e) { /* private mode */ }
  }

  async function load() {
    lang = pickLang();
    document.documentElement.lang = lang;
    const res = await fetch('i18n/' + lang);
    if (res.ok) messages = await res.json();
    translate(document);
  }

  // t is the message id in the language, its {{.Name}} fields filled.
  function t(id, data) {
    const m = messages[id];
    if (m === undefined) return '⟦' + id + '⟧';
    return m.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => (data && data[k] !== undefined ? String(data[k]) : ''));
  }
  function translate(root) {
    for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  }

  // --- numbers and dates ----------------------------------------------------
  const nf = (o) => new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', o);
  function int(n) { return n === null || n === undefined ? '–' : nf({ maximumFractionDigits: 0 }).format(n); }
  // pct writes a ratio truncated (not rounded) to a tenth of a percent, so
  // 99.96 % never reads as 100 %.
  function pct(a) {
    if (a === null || a === undefined) return t('web.nodata');
    return nf({ style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Math.floor(a * 1000 + 1e-9) / 1000);
  }
  function ms(v) {
    if (v === null || v === undefined) return '–';
    if (v >= 10000) return nf({ maximumFractionDigits: 1 }).format(v / 1000) + '\u202fs';
    return nf({ maximumFractionDigits: 0 }).format(v) + '\u202fms';
  }
  function locale() { return lang === 'fr' ? 'fr-FR' : 'en-GB'; }
  function fmt(iso, o) { return new Intl.DateTimeFormat(locale(), Object.assign({ timeZone: TZ }, o)).format(new Date(iso)); }
  // Dates and times as internal/i18n writes them in reports: "1er avril
  // 2021", "08 h 05" in French; "1 April 2021", "08:05" in English.
  function date(iso) {
    const p = paris(new Date(iso));
    const day = lang === 'fr' && p.day === '01' ? '1er' : String(+p.day);
    return day + ' ' + fmt(iso, { month: 'long' }) + ' ' + p.year;
  }
  function clock(iso) {
    const p = paris(new Date(iso));
    return lang === 'fr' ? p.hour + NBSP + 'h' + NBSP + p.minute : p.hour + ':' + p.minute;
  }
  function dateTime(iso) { return t('web.datetime', { Date: date(iso), Clock: clock(iso) }); }
  function shortDateTime(iso) { return fmt(iso, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }); }

  // --- Paris days -----------------------------------------------------------
  const partsFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short',
  });
  function paris(d) {
    const o = {};
    for (const p of partsFmt.formatToParts(d)) o[p.type] = p.value;
    return o;
  }
  function parisDay(d) { const p = paris(d); return p.year + '-' + p.month + '-' + p.day; }

  // --- colour scale ---------------------------------------------------------
  // Bins of availability, worst first, each with a colour from a blue to
  // dark-orange scale that people with any common colour-vision deficiency
  // tell apart by lightness as well as hue (Okabe–Ito and ColorBrewer PuOr
  // hues); values are always printed too, so colour is never the only
  // carrier. The API states its own bins (bins[]): when it does, its
  // bounds are the ones used and shown.
  const PALETTE = ['#7f2704', '#d55e00', '#f0a35e', '#fde8b0', '#9ecae1', '#2166ac'];
  const TEXT_ON = ['#fff', '#fff', '#000', '#000', '#000', '#fff'];
  const NO_DATA = '#d9d9d9';
  let bins = [
    { from: 0, to: 0.5 }, { from: 0.5, to: 0.8 }, { from: 0.8, to: 0.95 },
    { from: 0.95, to: 0.99 }, { from: 0.99, to: 0.999 }, { from: 0.999, to: 1 },
  ];
  function setBins(b) {
    if (!Array.isArray(b)) return;
    // The API lists "none" (no attempt) as a bin without bounds: it is
    // drawn grey, as NO_DATA.
    const bounded = b.filter((x) => typeof x.from === 'number' && typeof x.to === 'number');
    if (bounded.length > 0 && bounded.length <= PALETTE.length) bins = bounded.sort((x, y) => x.from - y.from);
  }
  function binOf(a) {
    if (a === null || a === undefined) return -1;
    for (let i = 0; i < bins.length; i++) if (a < bins[i].to) return i;
    return bins.length - 1;
  }
  // Colours are picked from the palette's good end down, so fewer bins
  // still end on blue.
  function colourIdx(i) { return i < 0 ? -1 : PALETTE.length - bins.length + i; }
  function colour(a) { const k = colourIdx(binOf(a)); return k < 0 ? NO_DATA : PALETTE[k]; }
  function textOn(a) { const k = colourIdx(binOf(a)); return k < 0 ? '#000' : TEXT_ON[k]; }
  function binLabel(i) {
    const b = bins[i];
    const p = (x) => nf({ style: 'percent', maximumFractionDigits: 1 }).format(x);
    if (i === 0) return t('web.bin.below', { To: p(b.to) });
    if (i === bins.length - 1) return t('web.bin.above', { From: p(b.from) });
    return t('web.bin.between', { From: p(b.from), To: p(b.to) });
  }
  // legend fills el with the bins, worst first, and "no data".
  function legend(el) {
    el.textContent = '';
    const title = document.createElement('span');
    title.textContent = t('web.legend');
    el.append(title);
    const add = (c, label) => {
      const s = document.createElement('span');
      s.className = 'bin';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = c;
      s.append(sw, document.createTextNode(label));
      el.append(s);
    };
    for (let i = 0; i < bins.length; i++) add(PALETTE[colourIdx(i)], binLabel(i));
    add(NO_DATA, t('web.nodata'));
  }

  // --- fetching -------------------------------------------------------------
  class HTTPError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }
  async function getJSON(url) {
    const sep = url.includes('?') ? '&' : '?';
    const res = await fetch(url + sep + 'lang=' + lang);
    if (res.status === 401 && !location.pathname.includes('/status')) {
      location.assign('login?next=' + encodeURIComponent(location.pathname + location.search));
      throw new HTTPError(401, t('web.error.login'));
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new HTTPError(res.status, body.error || res.status + ' ' + res.statusText);
    return body;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  return {
    load, t, translate, lang: () => lang, setLang, int, pct, ms, date, clock, dateTime, shortDateTime,
    paris, parisDay, setBins, binOf, colour, textOn, legend, getJSON, el, NO_DATA,
  };
})();
