// Coordinator dashboard: plain JavaScript, no framework, no build step. Every figure comes from the gateway's own
// APIs, called with the session cookie (same origin): $capacity and Slot search, /indicators/*, /pathways/summary.
// The DOM is built with createElement/textContent only (never innerHTML), so no API value can inject markup.
'use strict';
(() => {
  const ZONE = 'Europe/Paris';
  const R314 = 'https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau';
  const G15 = 'TRE_G15-ProfessionSante';
  const FINESS = 'https://finess.esante.gouv.fr';
  const REFRESH_SECONDS = 60;
  const HOURS = 72;

  const TEXT = {
    fr: {
      skip: 'Aller au contenu', title: 'Tableau de bord de la CPTS', logout: 'Se déconnecter', loading: 'Chargement…',
      'nav.capacity': 'Capacité', 'nav.indicators': 'Indicateurs', 'nav.pathways': 'Parcours',
      'login.title': 'Connexion', 'login.oidc': "Se connecter avec le fournisseur d'identité",
      'login.none': "Aucun moyen de connexion n'est configuré sur cette passerelle.",
      'login.devHelp': "Démonstration : ouvrir une session de coordination sans fournisseur d'identité (refusé en production).",
      'login.dev': 'Connexion de démonstration (coordination)',
      'capacity.title': "Capacité en soins non programmés : aujourd'hui et 72 h",
      'filter.profession': 'Profession', 'filter.service': 'Type de prise en charge', 'filter.commune': 'Commune',
      'filter.all': 'Toutes', refresh: 'Actualiser',
      'indicators.title': 'Indicateurs', 'pathways.title': 'Parcours de soins',
      who: (s) => `Connecté : ${s.subject} (${s.role === 'coordinator' ? 'coordination' : s.role})`,
      updated: (t, n) => `Mis à jour à ${t} — ${n} créneaux SNP libres dans les 72 h — actualisation automatique toutes les ${REFRESH_SECONDS} s`,
      caption: 'Créneaux SNP libres par centre et par demi-journée (heure de Paris)',
      centre: 'Centre', first: 'Premier créneau libre', total: 'Total', am: 'matin', pm: 'après-midi',
      noneFree: 'aucun', stale: (when) => `Données anciennes (dernière synchronisation : ${when})`, never: 'jamais',
      staleSummary: (names) => `Attention : données anciennes pour ${names}.`,
      hidden: (n) => `${n} centre(s) sans créneau correspondant aux filtres.`,
      error: (what, status) => `${what} : erreur ${status}.`,
      unavailable: (what) => `${what} : non disponible sur cette passerelle (le service ne répond pas : 404).`,
      forbidden: (what) => `${what} : non autorisé pour votre rôle.`,
      sessionGone: 'Votre session a expiré : reconnectez-vous.',
      chooseIndicator: 'Choisissez un indicateur pour afficher sa série mensuelle.',
      definition: 'Définition', scoring: 'Mode de calcul', unit: 'Unité',
      cpts: 'CPTS (tous les centres)', perCentre: 'Par centre', masked: 'masqué', noData: 'pas de donnée',
      maskedNote: 'Hachures : valeur masquée (petits effectifs, aucun patient ne doit pouvoir être isolé).',
      values: 'Tableau des valeurs', month: 'Mois', value: 'Valeur', numerator: 'Numérateur', denominator: 'Dénominateur',
      chartLabel: (title, n, m) => `${title} : ${n} mois, dont ${m} masqué(s)`,
      protocols: 'Patients par protocole', protocol: 'Protocole', active: 'En cours', completed: 'Terminés',
      referrals: 'Adressages par statut', status: 'Statut', count: 'Nombre',
      overdue: (n) => (n === 0 ? 'Aucun adressage en retard' : `${n} adressage(s) en retard`),
      generated: (t) => `Décompte du ${t}`,
      statuses: { requested: 'demandé', received: 'reçu', accepted: 'accepté', rejected: 'refusé', 'in-progress': 'en cours',
        completed: 'terminé', cancelled: 'annulé', failed: 'échoué' },
      services: { AMB: 'Consultation au cabinet', HH: 'Visite à domicile', VR: 'Téléconsultation' },
      capacityName: 'Capacité', indicatorsName: 'Indicateurs', pathwaysName: 'Parcours',
    },
    en: {
      skip: 'Skip to content', title: 'CPTS dashboard', logout: 'Log out', loading: 'Loading…',
      'nav.capacity': 'Capacity', 'nav.indicators': 'Indicators', 'nav.pathways': 'Pathways',
      'login.title': 'Log in', 'login.oidc': 'Log in with the identity provider',
      'login.none': 'No way to log in is configured on this gateway.',
      'login.devHelp': 'Demo: open a coordination session without an identity provider (refused in production).',
      'login.dev': 'Demo login (coordination)',
      'capacity.title': 'Unscheduled-care capacity: today and 72 h',
      'filter.profession': 'Profession', 'filter.service': 'Kind of care', 'filter.commune': 'Town',
      'filter.all': 'All', refresh: 'Refresh',
      'indicators.title': 'Indicators', 'pathways.title': 'Care pathways',
      who: (s) => `Logged in: ${s.subject} (${s.role})`,
      updated: (t, n) => `Updated at ${t} — ${n} free SNP slots in the next 72 h — refreshed every ${REFRESH_SECONDS} s`,
      caption: 'Free SNP slots per centre and half-day (Paris time)',
      centre: 'Centre', first: 'First free slot', total: 'Total', am: 'morning', pm: 'afternoon',
      noneFree: 'none', stale: (when) => `Stale data (last sync: ${when})`, never: 'never',
      staleSummary: (names) => `Warning: stale data for ${names}.`,
      hidden: (n) => `${n} centre(s) without a slot matching the filters.`,
      error: (what, status) => `${what}: error ${status}.`,
      unavailable: (what) => `${what}: not available on this gateway (the service answers 404).`,
      forbidden: (what) => `${what}: not allowed for your role.`,
      sessionGone: 'Your session has expired: log in again.',
      chooseIndicator: 'Choose an indicator to show its monthly series.',
      definition: 'Definition', scoring: 'Scoring', unit: 'Unit',
      cpts: 'CPTS (all centres)', perCentre: 'Per centre', masked: 'masked', noData: 'no data',
      maskedNote: 'Hatched: masked value (small counts, so that no patient can be singled out).',
      values: 'Table of values', month: 'Month', value: 'Value', numerator: 'Numerator', denominator: 'Denominator',
      chartLabel: (title, n, m) => `${title}: ${n} months, ${m} masked`,
      protocols: 'Patients per protocol', protocol: 'Protocol', active: 'Active', completed: 'Completed',
      referrals: 'Referrals per status', status: 'Status', count: 'Count',
      overdue: (n) => (n === 0 ? 'No overdue referral' : `${n} overdue referral(s)`),
      generated: (t) => `Counted on ${t}`,
      statuses: { requested: 'requested', received: 'received', accepted: 'accepted', rejected: 'rejected',
        'in-progress': 'in progress', completed: 'completed', cancelled: 'cancelled', failed: 'failed' },
      services: { AMB: 'Office visit', HH: 'Home visit', VR: 'Teleconsultation' },
      capacityName: 'Capacity', indicatorsName: 'Indicators', pathwaysName: 'Pathways',
    },
  };

  const state = { lang: 'fr', session: null, capacity: null, definitions: null, current: null, series: null,
    pathways: null, loaded: {}, timer: null };
  const t = (key, ...args) => { const v = TEXT[state.lang][key]; return typeof v === 'function' ? v(...args) : v; };
  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v; else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (response.status === 401) showLogin(t('sessionGone'));
    return { status: response.status, body };
  }

  // -- formatting, in Paris time ------------------------------------------------------------------------------------
  const fmt = {};
  function formatter(kind) {
    const key = `${state.lang}:${kind}`;
    if (!fmt[key]) {
      const locale = state.lang === 'fr' ? 'fr-FR' : 'en-GB';
      const options = {
        parts: { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' },
        day: { timeZone: ZONE, weekday: 'short', day: '2-digit', month: '2-digit' },
        time: { timeZone: ZONE, hour: '2-digit', minute: '2-digit' },
        stamp: { timeZone: ZONE, weekday: 'short', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' },
        month: { timeZone: 'UTC', month: 'short', year: '2-digit' },
        number: { maximumFractionDigits: 1 },
      }[kind];
      fmt[key] = kind === 'number' ? new Intl.NumberFormat(locale, options) : new Intl.DateTimeFormat(locale, options);
    }
    return fmt[key];
  }
  function local(date) { // {day: 'YYYY-MM-DD', hour}
    const p = Object.fromEntries(formatter('parts').formatToParts(date).map((x) => [x.type, x.value]));
    return { day: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour) };
  }
  const stamp = (date) => formatter('stamp').format(date);
  const number = (v) => formatter('number').format(v);
  const monthLabel = (m) => formatter('month').format(new Date(`${m}-01T00:00:00Z`));

  // -- session and login ------------------------------------------------------------------------------------------
  function showLogin(reason) {
    state.session = null;
    clearInterval(state.timer);
    $('loading').hidden = true;
    for (const id of ['capacite', 'indicateurs', 'parcours']) $(id).hidden = true;
    $('sections').hidden = true;
    $('logout').hidden = true;
    $('who').textContent = '';
    $('login').hidden = false;
    $('login-reason').hidden = !reason;
    $('login-reason').textContent = reason || '';
  }

  async function start() {
    const { body } = await api('/dashboard/api/session');
    const offers = (body && body.login) || {};
    $('login-dev').hidden = !offers.development;
    $('login-oidc').hidden = !offers.oidc;
    $('login-none').hidden = Boolean(offers.development || offers.oidc);
    if (!body || !body.authenticated) { showLogin(body && body.reason); return; }
    state.session = body;
    $('loading').hidden = true;
    $('login').hidden = true;
    $('sections').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = t('who', body);
    route();
    state.timer = setInterval(() => {
      if (!document.hidden && state.session && !$('capacite').hidden) loadCapacity();
    }, REFRESH_SECONDS * 1000);
  }

  // -- sections ---------------------------------------------------------------------------------------------------
  const SECTIONS = { '#capacite': loadCapacity, '#indicateurs': loadIndicators, '#parcours': loadPathways };
  function route(focus) {
    if (!state.session) return;
    const hash = SECTIONS[location.hash] ? location.hash : '#capacite';
    for (const id of Object.keys(SECTIONS)) $(id.slice(1)).hidden = id !== hash;
    for (const a of document.querySelectorAll('#sections a')) {
      if (a.getAttribute('href') === hash) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (focus) { const heading = $(hash.slice(1)).querySelector('h2'); heading.tabIndex = -1; heading.focus(); }
    if (!state.loaded[hash]) { state.loaded[hash] = true; SECTIONS[hash](); }
  }

  // -- capacity ---------------------------------------------------------------------------------------------------
  function parameters(resource, name) {
    return (resource.parameter || []).filter((p) => p.name === name).map((p) => {
      const parts = {};
      for (const part of p.part || []) {
        const key = Object.keys(part).find((k) => k.startsWith('value'));
        parts[part.name] = key ? part[key] : undefined;
      }
      return parts;
    });
  }

  async function allPages(path) {
    const resources = [];
    let next = path;
    for (let page = 0; next && page < 20; page += 1) {
      const { status, body } = await api(next);
      if (status !== 200) return { status, resources };
      for (const e of body.entry || []) resources.push(e.resource);
      const link = (body.link || []).find((l) => l.relation === 'next');
      next = link ? (new URL(link.url, location.href).pathname + new URL(link.url, location.href).search) : null;
    }
    return { status: 200, resources };
  }

  async function loadCapacity() {
    const now = new Date();
    const end = new Date(now.getTime() + HOURS * 3600 * 1000);
    const today = local(now).day;
    const last = local(end).day;
    const slotQuery = new URLSearchParams([
      ['status', 'free'], ['_security', `${R314}|SNP`], ['start', `ge${now.toISOString()}`],
      ['start', `lt${end.toISOString()}`], ['_sort', 'start'], ['_count', '1000'],
      ['_include', 'Slot:schedule'], ['_include:iterate', 'Schedule:actor'],
    ]);
    const [summary, slots, organizations] = await Promise.all([
      api(`/fhir/Slot/$capacity?periodStart=${today}&periodEnd=${last}`),
      allPages(`/fhir/Slot?${slotQuery}`),
      allPages('/fhir/Organization?_count=1000'),
    ]);
    if (!state.session) return;
    if (summary.status !== 200 || slots.status !== 200) {
      $('capacity-status').textContent = t('error', t('capacityName'), summary.status !== 200 ? summary.status : slots.status);
      return;
    }
    state.capacity = model(now, end, summary.body, slots.resources, organizations.resources);
    fillFilters();
    renderCapacity();
    if (!window.cptsFirstRender) {
      window.cptsFirstRender = performance.now();
      performance.mark('cpts-first-render');
      document.body.dataset.ready = 'capacity';
    }
  }

  function model(now, end, summary, resources, organizations) {
    const byRef = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
    const centres = new Map(); // FINESS -> {finess, name, stale, lastSync, communes}
    const orgFiness = new Map();
    const centre = (finess) => {
      if (!centres.has(finess)) centres.set(finess, { finess, name: finess, stale: false, lastSync: null, communes: new Set() });
      return centres.get(finess);
    };
    for (const org of organizations) {
      const id = (org.identifier || []).find((i) => i.system === FINESS);
      if (!id) continue;
      orgFiness.set(`Organization/${org.id}`, id.value);
      const isCpts = (org.type || []).some((ty) => (ty.coding || []).some((c) => c.code === '604'));
      if (!isCpts) centre(id.value).name = org.name || id.value;
    }
    for (const c of parameters(summary, 'centre')) {
      const finess = c.organization && c.organization.value;
      if (!finess) continue;
      const entry = centre(finess);
      entry.stale = Boolean(c.stale);
      entry.lastSync = c.lastSync || null;
    }
    const slots = [];
    for (const slot of resources.filter((r) => r.resourceType === 'Slot')) {
      const schedule = byRef.get(slot.schedule && slot.schedule.reference);
      const actors = (schedule && schedule.actor) || [];
      const role = actors.map((a) => byRef.get(a.reference)).find((r) => r && r.resourceType === 'PractitionerRole');
      if (!role) continue;
      const org = role.organization || {};
      let finess = orgFiness.get(org.reference);
      if (!finess && org.identifier && org.identifier.value) finess = String(org.identifier.value).replace(/^1/, '');
      if (!finess) continue;
      const place = (role.contained || []).find((c) => c.resourceType === 'Location');
      const commune = place && place.address && place.address.city;
      const profession = (role.code || []).flatMap((c) => c.coding || []).find((c) => (c.system || '').includes(G15));
      const services = (slot.serviceType || []).flatMap((st) => st.coding || [])
        .filter((c) => (c.system || '').endsWith('v3-ActCode')).map((c) => c.code);
      const entry = centre(finess);
      if (entry.name === finess && org.display) entry.name = org.display;
      if (commune) entry.communes.add(commune);
      const when = new Date(slot.start);
      const at = local(when);
      slots.push({
        finess, when, key: `${at.day}|${at.hour < 12 ? 'am' : 'pm'}`, commune: commune || '',
        profession: profession ? profession.code : '', professionLabel: profession ? (profession.display || profession.code) : '',
        services, who: (role.practitioner && role.practitioner.display) || '',
      });
    }
    const columns = [];
    for (let ms = now.getTime(); ms < end.getTime(); ms += 3600 * 1000) {
      const at = local(new Date(ms));
      const key = `${at.day}|${at.hour < 12 ? 'am' : 'pm'}`;
      if (!columns.some((c) => c.key === key)) columns.push({ key, day: at.day, half: at.hour < 12 ? 'am' : 'pm', sample: new Date(ms) });
    }
    return { updated: new Date(), centres, slots, columns };
  }

  function fillFilters() {
    const m = state.capacity;
    const options = {
      'f-profession': [...new Map(m.slots.filter((x) => x.profession).map((x) => [x.profession, x.professionLabel]))],
      'f-service': [...new Set(m.slots.flatMap((x) => x.services))].map((c) => [c, (t('services') || {})[c] || c]),
      'f-commune': [...new Set(m.slots.map((x) => x.commune).filter(Boolean))].map((c) => [c, c]),
    };
    for (const [id, pairs] of Object.entries(options)) {
      const select = $(id);
      const chosen = select.value;
      pairs.sort((a, b) => a[1].localeCompare(b[1], 'fr'));
      select.replaceChildren(h('option', { value: '' }, t('filter.all')), ...pairs.map(([v, label]) => h('option', { value: v }, label)));
      if (pairs.some(([v]) => v === chosen)) select.value = chosen;
    }
  }

  function renderCapacity() {
    const m = state.capacity;
    if (!m) return;
    const profession = $('f-profession').value;
    const service = $('f-service').value;
    const commune = $('f-commune').value;
    const filtered = Boolean(profession || service || commune);
    const chosen = m.slots.filter((x) => (!profession || x.profession === profession)
      && (!service || x.services.includes(service)) && (!commune || x.commune === commune));
    const rows = [...m.centres.values()].map((c) => {
      const mine = chosen.filter((x) => x.finess === c.finess);
      const counts = Object.fromEntries(m.columns.map((col) => [col.key, mine.filter((x) => x.key === col.key).length]));
      return { centre: c, mine, counts, first: mine.length ? mine.reduce((a, b) => (a.when <= b.when ? a : b)) : null };
    });
    const shown = rows.filter((r) => !filtered || r.mine.length).sort((a, b) => {
      if (a.first && b.first) return a.first.when - b.first.when;
      if (a.first || b.first) return a.first ? -1 : 1;
      return a.centre.name.localeCompare(b.centre.name, 'fr');
    });
    const head = h('tr', {}, h('th', { scope: 'col' }, t('centre')), h('th', { scope: 'col' }, t('first')),
      m.columns.map((col) => h('th', { scope: 'col' }, formatter('day').format(col.sample), h('br'), t(col.half))),
      h('th', { scope: 'col' }, t('total')));
    const body = shown.map((r) => {
      const c = r.centre;
      const staleNote = c.stale ? h('span', { class: 'stale' }, '⚠ ', t('stale', c.lastSync ? stamp(new Date(c.lastSync)) : t('never'))) : null;
      return h('tr', { class: c.stale ? 'is-stale' : null, 'data-finess': c.finess },
        h('th', { scope: 'row' }, c.name, h('br'), h('span', { class: 'small' }, [...c.communes].join(', ') || c.finess), staleNote ? h('br') : null, staleNote),
        h('td', {}, r.first ? [stamp(r.first.when), h('br'), h('span', { class: 'small' }, [r.first.who, r.first.professionLabel].filter(Boolean).join(' · '))] : t('noneFree')),
        m.columns.map((col) => h('td', { class: `num ${r.counts[col.key] ? 'some' : 'none'}` }, r.counts[col.key])),
        h('td', { class: 'num' }, r.mine.length));
    });
    const table = h('table', { id: 'grid' }, h('caption', {}, t('caption')), h('thead', {}, head), h('tbody', {}, body));
    const stale = [...m.centres.values()].filter((c) => c.stale).map((c) => c.name);
    const notes = [];
    if (stale.length) notes.push(h('p', { class: 'stale', id: 'stale-summary' }, '⚠ ', t('staleSummary', stale.join(', '))));
    if (filtered && rows.length > shown.length) notes.push(h('p', { class: 'small' }, t('hidden', rows.length - shown.length)));
    $('grid-wrap').replaceChildren(...notes, table);
    $('capacity-status').textContent = t('updated', formatter('time').format(m.updated), chosen.length);
  }

  // -- indicators -------------------------------------------------------------------------------------------------
  function notAvailable(target, status, what) {
    const text = status === 404 ? t('unavailable', what) : status === 403 ? t('forbidden', what) : t('error', what, status);
    target.replaceChildren(h('p', { class: 'unavailable', 'data-state': status === 404 ? 'unavailable' : 'error' }, text));
  }
  const label = (v) => (v && typeof v === 'object' ? (v[state.lang] || v.fr || v.en || '') : (v || ''));

  async function loadIndicators() {
    const { status, body } = await api('/indicators/definitions');
    if (status !== 200) { notAvailable($('indicator-view'), status, t('indicatorsName')); return; }
    const list = Array.isArray(body) ? body : (body && (body.definitions || body.indicators)) || [];
    state.definitions = list.filter((d) => d.audience !== 'centre-only');
    renderIndicatorList();
  }

  function renderIndicatorList() {
    if (!state.definitions) return;
    $('indicator-list').replaceChildren(...state.definitions.map((d) => h('li', {},
      h('button', { type: 'button', 'data-indicator': d.id, 'aria-pressed': state.current === d.id ? 'true' : 'false',
        onclick: () => openIndicator(d.id) }, label(d.title) || d.id))));
    if (!state.current) $('indicator-view').replaceChildren(h('p', {}, t('chooseIndicator')));
  }

  function monthsBack(count) {
    const now = new Date();
    const months = [];
    for (let i = count - 1; i >= 0; i -= 1) {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
      months.push(d.toISOString().slice(0, 7));
    }
    return months;
  }

  async function openIndicator(id) {
    state.current = id;
    renderIndicatorList();
    const months = monthsBack(12);
    const { status, body } = await api(`/indicators/series?measure=${encodeURIComponent(id)}&from=${months[0]}&to=${months[11]}`);
    if (state.current !== id) return;
    if (status !== 200) { notAvailable($('indicator-view'), status, t('indicatorsName')); return; }
    state.series = body;
    renderSeries();
  }

  function renderSeries() {
    const data = state.series;
    if (!data) return;
    const definition = (state.definitions || []).find((d) => d.id === data.measure) || {};
    const title = label(data.title) || label(definition.title) || data.measure;
    const unit = data.unit || definition.unit || '';
    const months = data.months || [];
    const all = [...(data.cpts || []), ...(data.centres || []).flatMap((c) => c.points || [])];
    const top = Math.max(1, ...all.map((p) => (typeof p.value === 'number' ? p.value : 0)));
    const view = $('indicator-view');
    view.replaceChildren(
      h('h3', { id: 'indicator-title' }, title),
      h('details', { id: 'definition' }, h('summary', {}, t('definition')),
        h('p', {}, label(definition.description) || '—'),
        h('p', { class: 'small' }, `${t('scoring')} : ${definition.scoring || '—'} · ${t('unit')} : ${unit || '—'}`)),
      chart(`${t('cpts')}`, months, data.cpts || [], unit, top, false),
      h('p', { class: 'legend' }, t('maskedNote')),
      valuesTable(months, data.cpts || [], unit),
      h('h3', {}, t('perCentre')),
      h('div', { class: 'multiples' }, (data.centres || []).map((c) => chart(c.name || c.finess, months, c.points || [], unit, top, true))),
    );
  }

  let patternCount = 0;
  function chart(name, months, points, unit, top, small) {
    const width = small ? 260 : 680;
    const height = small ? 110 : 240;
    const pad = small ? { l: 28, r: 8, t: 8, b: 20 } : { l: 44, r: 12, t: 12, b: 30 };
    const byMonth = new Map(points.map((p) => [p.month, p]));
    const step = (width - pad.l - pad.r) / Math.max(1, months.length);
    const x = (i) => pad.l + step * (i + 0.5);
    const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / top);
    const pattern = `hatch-${patternCount += 1}`;
    const masked = months.filter((m) => byMonth.get(m) && byMonth.get(m).masked).length;
    const labelText = t('chartLabel', name, months.length, masked);
    const shapes = [];
    const segments = [[]];
    months.forEach((m, i) => {
      const p = byMonth.get(m);
      if (p && p.masked) {
        shapes.push(s('rect', { x: x(i) - step / 2 + 1, y: pad.t, width: step - 2, height: height - pad.t - pad.b,
          fill: `url(#${pattern})`, stroke: '#4a4a4a', 'stroke-width': 0.5, 'data-masked': m },
        s('title', {}, `${monthLabel(m)} : ${t('masked')}`)));
        segments.push([]);
      } else if (p && typeof p.value === 'number') {
        segments[segments.length - 1].push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
        shapes.push(s('circle', { cx: x(i), cy: y(p.value), r: small ? 2.5 : 4, fill: '#000091' },
          s('title', {}, `${monthLabel(m)} : ${number(p.value)}${unit ? ` ${unit}` : ''}`)));
      } else {
        segments.push([]);
      }
    });
    const axes = [
      s('line', { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, stroke: '#4a4a4a' }),
      s('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, stroke: '#4a4a4a' }),
      s('text', { x: pad.l - 4, y: pad.t + 8, 'text-anchor': 'end' }, number(top)),
      s('text', { x: pad.l - 4, y: height - pad.b, 'text-anchor': 'end' }, '0'),
    ];
    months.forEach((m, i) => {
      if (!small || i % 3 === 0) axes.push(s('text', { x: x(i), y: height - pad.b + 14, 'text-anchor': 'middle' }, monthLabel(m)));
    });
    const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': labelText },
      s('defs', {}, s('pattern', { id: pattern, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 6, height: 6, fill: '#f2f2f2' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#4a4a4a', 'stroke-width': 2 }))),
      axes, s('path', { d: segments.filter((g) => g.length).map((g) => `M${g.join('L')}`).join(' ') || 'M0,0', fill: 'none', stroke: '#000091', 'stroke-width': small ? 1.5 : 2.5 }),
      shapes);
    return h('figure', { class: 'chart', 'data-series': name }, h('figcaption', {}, name), svg);
  }

  function valuesTable(months, points, unit) {
    const byMonth = new Map(points.map((p) => [p.month, p]));
    const cell = (v) => (v === null || v === undefined ? '—' : number(v));
    return h('details', {}, h('summary', {}, t('values')), h('table', {},
      h('thead', {}, h('tr', {}, [t('month'), t('value'), t('numerator'), t('denominator')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, months.map((m) => {
        const p = byMonth.get(m) || {};
        return h('tr', {}, h('th', { scope: 'row' }, monthLabel(m)),
          p.masked ? h('td', { colspan: 3 }, t('masked')) : [h('td', {}, p.value === null || p.value === undefined ? t('noData') : `${number(p.value)}${unit ? ` ${unit}` : ''}`),
            h('td', {}, cell(p.numerator)), h('td', {}, cell(p.denominator))]);
      }))));
  }

  // -- pathways ---------------------------------------------------------------------------------------------------
  async function loadPathways() {
    const { status, body } = await api('/pathways/summary');
    if (status !== 200) { notAvailable($('pathways-view'), status, t('pathwaysName')); return; }
    state.pathways = body;
    renderPathways();
  }

  function renderPathways() {
    const p = state.pathways;
    if (!p) return;
    const overdue = Number(p.overdue || 0);
    const referrals = p.referrals || {};
    $('pathways-view').replaceChildren(
      h('p', { class: `overdue${overdue ? '' : ' zero'}`, id: 'overdue', role: overdue ? 'alert' : null }, t('overdue', overdue)),
      h('div', { class: 'cards' },
        h('table', { id: 'protocols' }, h('caption', {}, t('protocols')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('protocol')), h('th', { scope: 'col' }, t('active')), h('th', { scope: 'col' }, t('completed')))),
          h('tbody', {}, (p.protocols || []).map((x) => h('tr', {}, h('th', { scope: 'row' }, label(x.title) || x.id),
            h('td', { class: 'num' }, x.active), h('td', { class: 'num' }, x.completed))))),
        h('table', { id: 'referrals' }, h('caption', {}, t('referrals')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('status')), h('th', { scope: 'col' }, t('count')))),
          h('tbody', {}, Object.entries(referrals).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, t('statuses')[k] || k), h('td', { class: 'num' }, v)))))),
      p.generated ? h('p', { class: 'small' }, t('generated', stamp(new Date(p.generated)))) : null,
    );
  }

  // -- language ---------------------------------------------------------------------------------------------------
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t('title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    const toggle = $('lang');
    toggle.textContent = state.lang === 'fr' ? 'English' : 'Français';
    toggle.lang = state.lang === 'fr' ? 'en' : 'fr';
    if (state.session) $('who').textContent = t('who', state.session);
    if (state.capacity) { fillFilters(); renderCapacity(); }
    renderIndicatorList();
    renderSeries();
    renderPathways();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('lang').addEventListener('click', () => { state.lang = state.lang === 'fr' ? 'en' : 'fr'; applyLanguage(); });
    for (const id of ['f-profession', 'f-service', 'f-commune']) $(id).addEventListener('change', renderCapacity);
    $('refresh').addEventListener('click', loadCapacity);
    window.addEventListener('hashchange', () => route(true));
    start();
  });
})();
