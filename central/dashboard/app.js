// WacoFlow dashboard: plain ES modules, no build step and nothing from the internet. Reads the HTTP API and
// keeps itself current from /api/events (server-sent events); hash routes: #/map, #/station/<id>, #/alerts,
// #/fleet, #/processing.

const LEVELS = ['clear', 'light', 'moderate', 'severe', 'unknown'];
const COLOURS = { clear: '#009e73', light: '#f0e442', moderate: '#e69f00', severe: '#d55e00', unknown: '#999999' };
const page = document.getElementById('page');
const state = { stations: new Map(), corridors: new Map(), intersectionOf: new Map(), alerts: [], fleet: [], fleetSort: { key: 'device_id', dir: 1 }, fleetFilter: '', fleetStatus: 'all', mapView: null };

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (n, digits = 0) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' }) : '—');
const ago = (s) => (s === null || s === undefined ? '—' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
const chip = (level) => `<span class="chip ${esc(level)}" data-level="${esc(level)}">${esc(level)}</span>`;
const api = async (path) => {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};

/** The window a station is shown by: the current one when it has data, else the last final one. */
function shown(s) {
  return s.current && s.current.status === 'ok' ? s.current : s.last_final ?? s.current;
}

// ---- Map: stations placed by their coordinates, corridors drawn along their roads -----------------------------

function project(stations, width, height, pad) {
  const lats = stations.map((s) => s.lat), lons = stations.map((s) => s.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180); // metres per degree of longitude shrink with latitude
  const spanX = Math.max((maxLon - minLon) * kx, 1e-6), spanY = Math.max(maxLat - minLat, 1e-6);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  // Centred: the spare room is shared by both sides, so a label can go either way of a station at the edge.
  const [dx, dy] = [(width - 2 * pad - spanX * scale) / 2, (height - 2 * pad - spanY * scale) / 2];
  return (s) => [pad + dx + (s.lon - minLon) * kx * scale, height - pad - dy - (s.lat - minLat) * scale];
}

/** Rendered width of a map label line: the page's font at the map labels' 11px (style.css, `svg.map .station text`). */
const labelWidth = (() => {
  const ctx = document.createElement('canvas').getContext('2d');
  return (text, bold) => {
    ctx.font = `${bold ? '700 ' : ''}11px ${getComputedStyle(document.body).fontFamily}`;
    return ctx.measureText(text).width;
  };
})();

/**
 * Where each station's two-line label goes: right of its mark, else left, above or below, whichever covers
 * least of the labels placed so far, the other marks and the map's edge. Stations on one road sit close
 * together, and a label on a wall display is only useful if it can be read.
 */
function placeLabels(items, W, H) {
  const area = (a, b) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const marks = items.map(({ x, y, r }) => ({ x0: x - r, y0: y - r, x1: x + r, y1: y + r }));
  const placed = [];
  return items.map((it, i) => {
    const w = Math.max(labelWidth(it.name, false), labelWidth(it.detail, true)) + 2;
    const spots = [
      { anchor: 'start', x: it.x + it.r + 4, y: it.y - 2, x0: it.x + it.r + 3 },
      { anchor: 'end', x: it.x - it.r - 4, y: it.y - 2, x0: it.x - it.r - 5 - w },
      { anchor: 'middle', x: it.x, y: it.y - it.r - 18, x0: it.x - w / 2 },
      { anchor: 'middle', x: it.x, y: it.y + it.r + 13, x0: it.x - w / 2 },
    ].map((spot) => ({ ...spot, box: { x0: spot.x0, y0: spot.y - 10, x1: spot.x0 + w, y1: spot.y + 16 } }));
    const cost = ({ box }) =>
      placed.reduce((a, b) => a + area(box, b), 0) +
      marks.reduce((a, m, j) => a + (j === i ? 0 : area(box, m)), 0) +
      (box.x1 - box.x0) * (box.y1 - box.y0) - area(box, { x0: 0, y0: 0, x1: W, y1: H });
    const best = spots.reduce((a, b) => (cost(b) < cost(a) ? b : a));
    placed.push(best.box);
    return best;
  });
}

/** Above this many marks the map hides labels until a mark is hovered or the map is zoomed in. */
const CROWDED = 40;

/**
 * A signalised intersection's approach stations (as /api/network lists them) share its position: on a city map
 * they are one mark, coloured by its worst approach and labelled with the vehicles each approach counted.
 */
function groupIntersections(stations) {
  const groups = new Map();
  for (const s of stations) {
    const key = state.intersectionOf.get(s.station_id)?.intersection_id ?? `station ${s.station_id}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()];
}

let mapDraws = 0;
function renderMap() {
  const stations = [...state.stations.values()];
  if (stations.length === 0) return void (page.innerHTML = '<p class="muted">No stations yet.</p>');
  const [W, H] = [900, 640];
  const xy = project(stations, W, H, 60);
  const members = new Map();
  for (const s of stations) if (s.corridor_id) members.set(s.corridor_id, [...(members.get(s.corridor_id) ?? []), s]);
  // Along the road where the inventory gives its geometry, else straight between the corridor's stations.
  const roads = [...members].map(([id, list]) => {
    const path = state.corridors.get(id)?.path;
    const pts = path ? path.map(([lat, lon]) => xy({ lat, lon })) : list.sort((a, b) => a.lat - b.lat || a.lon - b.lon).map(xy);
    return `<polyline class="road" data-corridor="${esc(id)}" points="${pts.map((p) => p.map((v) => v.toFixed(1)).join(',')).join(' ')}"/>`;
  });
  const crowded = stations.length > CROWDED;
  const items = (crowded ? groupIntersections(stations) : stations.map((s) => [s])).map((group) => {
    const known = group.map((s) => shown(s)?.congestion ?? 'unknown').filter((l) => l !== 'unknown');
    const worst = known.length === 0 ? 'unknown' : known.reduce((a, b) => (LEVELS.indexOf(b) > LEVELS.indexOf(a) ? b : a));
    const [x, y] = xy(group[0]);
    if (group.length > 1) {
      const name = state.intersectionOf.get(group[0].station_id).name;
      const counts = group.map((s) => `${state.intersectionOf.get(s.station_id).approach} ${fmt(shown(s)?.volume)}`);
      return { s: group[0], group, level: worst, x, y, r: 9, name, detail: `${worst} · ${counts.join(' ')} veh` };
    }
    const s = group[0];
    const w = shown(s);
    // The level is the worse of what speed and occupancy say, so both are shown: "severe · 82 km/h" alone
    // reads as a contradiction when a queue over the detector drove it.
    const measured = [w?.speed_kmh != null ? `${fmt(w.speed_kmh)} km/h` : null, w?.occupancy_pct != null ? `${fmt(w.occupancy_pct)} % occ.` : null].filter(Boolean);
    return { s, group, level: worst, x, y, r: s.kind === 'intersection' ? 9 : 11, name: s.name, detail: [worst, ...measured].join(' · ') };
  });
  const spots = placeLabels(items, W, H);
  const marks = items.map(({ s, group, level, x, y, r, name, detail }, i) => {
    const { anchor, x: tx, y: ty } = spots[i];
    const intersection = group.length > 1 ? ` data-intersection="${esc(name)}" data-approaches="${group.length}"` : '';
    // Drawn around its own origin, so zooming can keep a mark and its label the same size on screen.
    return `<g class="station" data-station="${esc(s.station_id)}" data-level="${esc(level)}"${intersection} data-x="${x}" data-y="${y}" transform="translate(${x},${y})" tabindex="0" role="link" aria-label="${esc(name)}: ${esc(detail)}">
      <title>${esc(name)}: ${esc(detail)}</title>
      <circle cx="0" cy="0" r="${r}" fill="${COLOURS[level]}"${group.length > 1 ? ' class="intersection"' : ''}/>
      <text x="${tx - x}" y="${ty - y}" text-anchor="${anchor}">${esc(name)}</text>
      <text class="level" x="${tx - x}" y="${ty - y + 13}" text-anchor="${anchor}">${esc(detail)}</text>
    </g>`;
  });
  const counts = LEVELS.map((l) => [l, stations.filter((s) => (shown(s)?.congestion ?? 'unknown') === l).length]);
  const intersections = items.filter((it) => it.group.length > 1).length;
  const parts = {
    title: `Waco: ${stations.length} stations${intersections ? ` (${intersections} intersections drawn as one mark each)` : ''}`,
    svg: roads.join('') + marks.join(''),
    legend: counts.map(([l, n]) => `${chip(l)} ${n}`).join(' '),
    rows: stations.map((s) => { const w = shown(s); return `<tr data-row="${esc(s.station_id)}"><td><a href="#/station/${encodeURIComponent(s.station_id)}">${esc(s.name)}</a></td><td>${chip(w?.congestion ?? 'unknown')}</td><td class="num">${fmt(w?.speed_kmh)}</td><td class="num">${fmt(w?.occupancy_pct)}</td><td>${esc(w?.los ?? '—')}</td></tr>`; }).join(''),
  };
  // Live updates redraw what is inside the map, not the page around it: the tools, the zoom and a hovered
  // mark's neighbours stay put.
  let svg = page.querySelector('svg.map');
  if (!svg) {
    page.innerHTML = `<div class="map-layout">
      <div class="panel"><h2 id="map-title"></h2>
        <div class="map-tools"><button type="button" data-zoom="in" aria-label="zoom in">+</button><button type="button" data-zoom="out" aria-label="zoom out">−</button><button type="button" data-zoom="reset">reset</button>
          <span class="muted">${crowded ? 'scroll or + to zoom, drag to pan; labels show on hover and when zoomed in' : 'scroll or + to zoom, drag to pan'}</span></div>
        <svg class="map${crowded ? ' crowded' : ''}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Map of Waco stations by congestion"></svg>
        <div class="legend"></div></div>
      <div class="panel"><h2>Stations</h2><table><thead><tr><th>station</th><th>level</th><th>km/h</th><th>occ. %</th><th>LOS</th></tr></thead><tbody></tbody></table></div></div>`;
    svg = page.querySelector('svg.map');
    zoomable(svg, W, H);
  }
  page.querySelector('#map-title').textContent = parts.title;
  svg.innerHTML = parts.svg;
  svg.dataset.drawn = String(++mapDraws);
  page.querySelector('.legend').innerHTML = parts.legend;
  page.querySelector('tbody').innerHTML = parts.rows;
  for (const g of svg.querySelectorAll('g.station')) g.addEventListener('click', () => (location.hash = `#/station/${encodeURIComponent(g.dataset.station)}`));
  svg.dispatchEvent(new Event('redrawn'));
}

/** A crowded map shows every label once zoomed in this far (the view this many times narrower). */
const ZOOMED = 2.5;

/**
 * Zoom (wheel, buttons) and pan (drag) by the SVG's viewBox, kept across the re-renders live updates cause.
 * Marks and labels keep their size on screen; the map spreads out under them.
 */
function zoomable(svg, W, H) {
  const view = state.mapView ?? { x: 0, y: 0, w: W, h: H };
  const apply = () => {
    state.mapView = view;
    svg.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`);
    svg.classList.toggle('zoomed', view.w < W / ZOOMED);
    const k = view.w / W;
    for (const g of svg.querySelectorAll('g.station')) g.setAttribute('transform', `translate(${g.dataset.x},${g.dataset.y}) scale(${k})`);
  };
  svg.addEventListener('redrawn', apply);
  const zoom = (factor, cx = view.x + view.w / 2, cy = view.y + view.h / 2) => {
    const w = Math.min(W, Math.max(W / 12, view.w * factor));
    const k = w / view.w;
    Object.assign(view, { x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k, w, h: view.h * k });
    apply();
  };
  const toMap = (e) => {
    const r = svg.getBoundingClientRect();
    return [view.x + ((e.clientX - r.left) / r.width) * view.w, view.y + ((e.clientY - r.top) / r.height) * view.h];
  };
  svg.addEventListener('wheel', (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, ...toMap(e)); }, { passive: false });
  let drag = null;
  svg.addEventListener('pointerdown', (e) => { if (!e.target.closest('g.station')) drag = { x: e.clientX, y: e.clientY, view: { ...view } }; });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    Object.assign(view, { x: drag.view.x - ((e.clientX - drag.x) / r.width) * view.w, y: drag.view.y - ((e.clientY - drag.y) / r.height) * view.h });
    apply();
  });
  for (const end of ['pointerup', 'pointerleave']) svg.addEventListener(end, () => (drag = null));
  for (const b of page.querySelectorAll('[data-zoom]')) {
    b.addEventListener('click', () => (b.dataset.zoom === 'reset' ? (Object.assign(view, { x: 0, y: 0, w: W, h: H }), apply()) : zoom(b.dataset.zoom === 'in' ? 0.6 : 1 / 0.6)));
  }
  apply();
}

// ---- Station page: the last day of speed, volume and occupancy, the forecast ahead, its alerts ---------------

function chart(title, points, forecast, unit, empty = 'No data in the last day.') {
  const [W, H, L, B] = [520, 180, 42, 22];
  const all = [...points, ...forecast, ...forecast.filter((p) => p.hi != null).map((p) => ({ t: p.t, v: p.hi }))].filter((p) => p.v !== null);
  if (all.length === 0) return `<div class="panel"><h2>${esc(title)}</h2><p class="muted">${esc(empty)}</p></div>`;
  const t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const vmax = Math.max(...all.map((p) => p.v), 1);
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 8), y = (v) => H - B - (v / vmax) * (H - B - 10);
  const path = points.filter((p) => p.v !== null).map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
  // Each forecast a dot, with its 80 % interval as a bar through it once the interval is known.
  const dots = forecast.filter((p) => p.v !== null).map((p) => {
    const range = p.lo != null && p.hi != null ? ` (80 %: ${fmt(p.lo, 1)}–${fmt(p.hi, 1)})` : '';
    const bar = range ? `<line class="interval" x1="${x(p.t)}" x2="${x(p.t)}" y1="${y(p.lo).toFixed(1)}" y2="${y(p.hi).toFixed(1)}"/>` : '';
    return `${bar}<circle class="forecast" cx="${x(p.t)}" cy="${y(p.v)}" r="4"><title>forecast ${fmt(p.v, 1)} ${unit}${range}</title></circle>`;
  }).join('');
  return `<div class="panel"><h2>${esc(title)}</h2><svg class="chart" viewBox="0 0 ${W} ${H}" data-chart="${esc(title)}" data-points="${points.length}">
    <line class="axis" x1="${L}" y1="${H - B}" x2="${W}" y2="${H - B}"/><line class="axis" x1="${L}" y1="0" x2="${L}" y2="${H - B}"/>
    <text x="2" y="12">${fmt(vmax)} ${esc(unit)}</text><text x="${L}" y="${H - 6}">${time(t0)}</text><text x="${W - 40}" y="${H - 6}">${time(t1)}</text>
    <path class="series" d="${path}"/>${dots}</svg></div>`;
}

/** An open congestion-onset warning for the station, as a banner above its forecast. */
function onsetWarning(alerts) {
  const a = alerts.find((x) => x.rule === 'congestion_onset' && x.state === 'open');
  return a ? `<div class="warn onset" data-alert="${esc(a.alert_id)}"><strong>⚠ Congestion expected</strong> (warned ${time(a.opened_ms)}): ${esc(a.detail)}</div>` : '';
}

/** The forecast at each horizon with its 80 % interval, and the level at the interval's worse end. */
function forecastTable(forecast) {
  if (forecast.length === 0) return '<p class="muted">No forecast yet.</p>';
  const range = (lo, hi, digits) => (lo == null || hi == null ? '' : ` <span class="muted">(${fmt(lo, digits)}–${fmt(hi, digits)})</span>`);
  const rows = forecast.map((p) => `<tr data-horizon="${p.horizon_min}"><td>in ${p.horizon_min} min</td>
    <td class="speed">${fmt(p.speed_kmh)} km/h${range(p.speed_low_kmh, p.speed_high_kmh, 0)}</td>
    <td class="occupancy">${fmt(p.occupancy_pct, 1)} %${range(p.occupancy_low_pct, p.occupancy_high_pct, 1)}</td>
    <td>${chip(p.congestion)}${p.worse_congestion && p.worse_congestion !== p.congestion ? ` <span class="muted worse">at worst ${esc(p.worse_congestion)}</span>` : ''}</td></tr>`).join('');
  return `<table class="forecast"><thead><tr><th>forecast</th><th>speed (80 % interval)</th><th>occupancy (80 %)</th><th>level</th></tr></thead><tbody>${rows}</tbody></table>`;
}

async function renderStation(id) {
  const s = state.stations.get(id);
  if (!s) return void (page.innerHTML = `<p>No station ${esc(id)}. <a href="#/map">Back to the map</a></p>`);
  const to = Date.now() + 3_600_000, from = to - 26 * 3_600_000;
  const [history, alerts] = await Promise.all([api(`/api/stations/${encodeURIComponent(id)}/windows?from_ms=${from}&to_ms=${to}&limit=1000`), api('/api/alerts?limit=200')]);
  const rows = history.items.filter((w) => w.status === 'ok');
  const series = (f) => rows.map((w) => ({ t: w.window_start_ms, v: f(w) }));
  const ahead = (measure, unit) => (s.forecast ?? []).map((p) => ({ t: p.target_window_start_ms, v: p[`${measure}_${unit}`], lo: p[`${measure}_low_${unit}`], hi: p[`${measure}_high_${unit}`] }));
  const mine = alerts.alerts.filter((a) => a.key === id || a.key.startsWith(`${id}-`));
  const w = shown(s);
  page.innerHTML = `<div class="panel"><h2>${esc(s.name)} ${chip(w?.congestion ?? 'unknown')}</h2>
      <p class="muted">${esc(s.kind)} · corridor ${esc(s.corridor_id ?? '—')} · ${s.lanes} lanes · free flow ${fmt(s.free_flow_kmh)} km/h ·
      now ${fmt(w?.speed_kmh)} km/h, ${fmt(w?.volume)} veh / 5 min, ${fmt(w?.occupancy_pct, 1)} % occupancy, LOS ${esc(w?.los ?? '—')}</p>
      ${onsetWarning(mine)}${forecastTable(s.forecast ?? [])}</div>
    <div class="charts">
      ${chart('Speed', series((w) => w.speed_kmh), ahead('speed', 'kmh'), 'km/h')}
      ${chart('Volume', series((w) => w.volume), [], 'veh / 5 min')}
      ${chart('Occupancy', series((w) => w.occupancy_pct), ahead('occupancy', 'pct'), '%')}
    </div>
    <div class="panel"><h2>Alerts</h2>${mine.length ? mine.map(alertRow).join('') : '<p class="muted">None.</p>'}</div>`;
}

// ---- Alerts ---------------------------------------------------------------------------------------------------

function alertRow(a) {
  return `<div class="alert ${esc(a.severity)} ${esc(a.state)}" data-alert="${esc(a.alert_id)}"><strong>${esc(a.rule)}</strong> · ${esc(a.key)} · ${esc(a.state)}
    <span class="muted">opened ${time(a.opened_ms)}${a.closed_ms ? `, closed ${time(a.closed_ms)}` : ''}</span><br>${esc(a.detail)}</div>`;
}

function renderAlerts() {
  const open = state.alerts.filter((a) => a.state === 'open');
  page.innerHTML = `<div class="panel"><h2>Open alerts (${open.length})</h2>${open.map(alertRow).join('') || '<p class="muted">None.</p>'}</div>
    <div class="panel"><h2>Recent</h2>${state.alerts.filter((a) => a.state !== 'open').slice(0, 100).map(alertRow).join('') || '<p class="muted">None.</p>'}</div>`;
}

// ---- Fleet: sortable, filterable -------------------------------------------------------------------------------

const FLEET_COLUMNS = [
  ['device_id', 'device'], ['status', 'status'], ['heartbeat_age_s', 'heartbeat'], ['outbox_depth', 'outbox'], ['temperature_c', '°C'],
  ['version', 'version'], ['config_hash', 'config'], ['update_state', 'update'], ['clock_synced', 'clock'], ['inputs', 'inputs'], ['detector_alerts', 'detector health'],
];
/** Update states that need an operator's eye. */
const UPDATE_TROUBLE = ['refused', 'rolled_back', 'failed'];

/** The applied configuration: its hash (short; the full one on hover), each scope's version, any refusal. */
function fleetConfig(c) {
  if (!c) return '—';
  const short = c.applied_hash.replace(/^sha256:/, '').slice(0, 8);
  const versions = ['fleet', 'site', 'device'].map((scope) => `${scope} ${c.versions[scope] ?? '—'}`).join(' · ');
  const refused = c.refused
    ? `<div class="warn refusal" title="${esc(c.refused.reason)}"><strong>⚠ refused</strong> ${esc(c.refused.scope)} v${esc(c.refused.version)} at ${time(c.refused.ts_ms)}: ${esc(c.refused.reason)}</div>`
    : '';
  return `<code title="${esc(c.applied_hash)}">${esc(short)}</code> <span class="muted versions">${versions}</span>${refused}`;
}

/** The latest update's state and release, e.g. "installed 0.2.0" or "rolled back 0.3.0: reason". */
function fleetUpdate(u) {
  if (!u) return '—';
  const text = `${esc(u.state.replace('_', ' '))}${u.version ? ` ${esc(u.version)}` : ''}`;
  const reason = u.reason ? `: ${esc(u.reason)}` : '';
  return UPDATE_TROUBLE.includes(u.state) ? `<span class="warn"><strong>⚠ ${text}</strong>${reason}</span>` : `${text}${reason}`;
}

/**
 * The fleet page. A live refresh redraws the heading and the table only: the filter box and the status choice
 * stay the same elements, so what someone is typing is never replaced under their cursor.
 */
function renderFleet() {
  if (!page.querySelector('#fleet-filter')) {
    page.innerHTML = `<div class="panel"><h2 id="fleet-heading"></h2>
    <div class="filters"><input type="search" id="fleet-filter" placeholder="filter by device, version or config hash" aria-label="filter by device, version or config hash" value="${esc(state.fleetFilter)}">
      <select id="fleet-status">${['all', 'online', 'offline', 'unknown'].map((s) => `<option ${s === state.fleetStatus ? 'selected' : ''}>${s}</option>`).join('')}</select></div>
    <table id="fleet"></table></div>`;
    // One listener for the header's sort buttons, however often the header is redrawn.
    page.querySelector('#fleet').addEventListener('click', (e) => {
      const th = e.target.closest('th[data-key]');
      if (!th) return;
      state.fleetSort = { key: th.dataset.key, dir: state.fleetSort.key === th.dataset.key ? -state.fleetSort.dir : 1 };
      renderFleet();
    });
    const filter = page.querySelector('#fleet-filter');
    filter.addEventListener('input', () => { state.fleetFilter = filter.value; renderFleet(); });
    page.querySelector('#fleet-status').addEventListener('change', (e) => { state.fleetStatus = e.target.value; renderFleet(); });
  }
  const { key, dir } = state.fleetSort;
  const q = state.fleetFilter.toLowerCase();
  const rows = state.fleet
    .map((d) => ({ ...d, detector_alerts: d.detector_health.length, config_hash: d.config?.applied_hash ?? null, update_state: d.update?.state ?? null }))
    .filter((d) => (state.fleetStatus === 'all' || d.status === state.fleetStatus) && (!q || d.device_id.toLowerCase().includes(q) || (d.version ?? '').includes(q) || (d.config_hash ?? '').includes(q)))
    .sort((a, b) => {
      const [x, y] = [a[key], b[key]];
      return (x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1) * dir;
    });
  const inputs = (d) => d.inputs.map((i) => `${esc(i.name)}: ${esc(i.state)}${i.breaker !== 'closed' ? ` (breaker ${esc(i.breaker)})` : ''}`).join(', ') || '—';
  const refusing = state.fleet.filter((d) => d.config?.refused).length;
  page.querySelector('#fleet-heading').innerHTML = `Fleet: ${state.fleet.filter((d) => d.status === 'online').length} of ${state.fleet.length} online${refusing ? ` · <span class="warn" id="fleet-refusing">${refusing} refused a configuration</span>` : ''}`;
  const table = page.querySelector('#fleet');
  // The header is replaced only when the sort changes: live updates arrive every few seconds, and a header
  // rebuilt under the pointer would swallow the click that was meant for it.
  const head = `<tr>${FLEET_COLUMNS.map(([k, label]) => `<th data-key="${k}" ${k === key ? `aria-sort="${dir > 0 ? 'ascending' : 'descending'}"` : ''}>${label}</th>`).join('')}</tr>`;
  if (table.fleetHead !== head) {
    (table.tHead ?? table.createTHead()).innerHTML = head;
    table.fleetHead = head;
  }
  (table.tBodies[0] ?? table.createTBody()).innerHTML = rows.map((d) => `<tr data-device="${esc(d.device_id)}"><td>${esc(d.device_id)}</td><td>${chip(d.status)}</td><td class="num">${ago(d.heartbeat_age_s)}</td>
      <td class="num">${fmt(d.outbox_depth)}</td><td class="num">${fmt(d.temperature_c, 1)}</td><td>${esc(d.version ?? '—')}</td>
      <td class="config">${fleetConfig(d.config)}</td><td class="update">${fleetUpdate(d.update)}</td>
      <td>${d.clock_synced === null ? '—' : d.clock_synced ? 'synced' : '<strong>not synced</strong>'}</td><td>${inputs(d)}</td>
      <td>${d.detector_health.length === 0 ? `${d.detectors} ok` : d.detector_health.map((h) => `${esc(h.detector_id)}: ${esc(h.rule)}`).join(', ')}</td></tr>`).join('');
}

// ---- Processing: lag, rates, batch time; now and over the last hour -------------------------------------------

let lastProcessing = null;
async function renderProcessing() {
  const p = await api('/api/processing');
  const rate = lastProcessing ? (p.bins.stored - lastProcessing.bins.stored) / ((p.generated_ms - lastProcessing.generated_ms) / 1000) : null;
  lastProcessing = p;
  page.innerHTML = `<div class="kpis">
    <div class="panel kpi"><div class="muted">consumer lag (bins)</div><div class="value" id="kpi-lag">${fmt(p.lag_records)}</div></div>
    <div class="panel kpi"><div class="muted">bins stored per second</div><div class="value" id="kpi-rate">${rate === null ? '…' : fmt(rate, 1)}</div></div>
    <div class="panel kpi"><div class="muted">mean batch time (window update)</div><div class="value">${fmt(p.batch_mean_ms, 1)} ms</div></div>
    <div class="panel kpi"><div class="muted">bins stored / late / duplicate / invalid</div><div class="value" style="font-size:1.1rem">${fmt(p.bins.stored)} / ${fmt(p.bins.late)} / ${fmt(p.bins.duplicate)} / ${fmt(p.bins.invalid)}</div></div>
  </div><div class="charts">
    ${chart('bins consumed per second, last hour', p.history.map((h) => ({ t: h.t_ms, v: h.bins_per_s })), [], 'bins/s', 'No points yet: one is taken every 10 s.')}
    ${chart('consumer lag, last hour', p.history.map((h) => ({ t: h.t_ms, v: h.lag_records })), [], 'bins', 'No points yet: one is taken every 10 s.')}
    ${chart('mean batch time, last hour', p.history.map((h) => ({ t: h.t_ms, v: h.batch_ms })), [], 'ms', 'No points yet: one is taken every 10 s.')}
  </div><div class="panel"><h2>Partitions</h2><table><thead><tr><th>topic</th><th>partition</th><th>lag</th></tr></thead><tbody>
    ${p.partitions.map((x) => `<tr><td>${esc(x.topic)}</td><td class="num">${x.partition}</td><td class="num">${fmt(x.lag)}</td></tr>`).join('')}</tbody></table></div>`;
}

// ---- Routing and live updates ----------------------------------------------------------------------------------

/**
 * One render at a time: live updates can arrive faster than a page (the station page fetches its day of
 * windows) renders, and overlapping renders would pile up requests until the tab stops answering. Whatever
 * changes meanwhile is drawn once, when the render in progress ends.
 */
let rendering = null;
let renderAgain = false;
function route() {
  if (rendering) {
    renderAgain = true;
    return rendering;
  }
  rendering = (async () => {
    do {
      renderAgain = false;
      await renderRoute();
    } while (renderAgain);
  })().finally(() => (rendering = null));
  return rendering;
}

async function renderRoute() {
  const [, name, arg] = (location.hash || '#/map').split('/');
  for (const a of document.querySelectorAll('nav a[data-page]')) a.classList.toggle('active', a.dataset.page === name || (name === 'station' && a.dataset.page === 'map'));
  try {
    if (name === 'station') await renderStation(decodeURIComponent(arg ?? ''));
    else if (name === 'alerts') renderAlerts();
    else if (name === 'fleet') renderFleet();
    else if (name === 'processing') await renderProcessing();
    else renderMap();
  } catch (err) {
    page.innerHTML = `<p>Could not load this page: ${esc(err.message)}</p>`;
  }
}

const current = () => (location.hash || '#/map').split('/')[1];
let redraw = null;
/**
 * Re-renders the page when what it shows changed, at most every 250 ms. `key` names the station (or its
 * detector, `<station>-…`) the change is about: the station page redraws only for its own.
 */
function changed(pages, key = null) {
  if (!pages.includes(current()) || redraw) return;
  if (current() === 'station' && key !== null) {
    const id = decodeURIComponent((location.hash || '').split('/')[2] ?? '');
    if (key !== id && !key.startsWith(`${id}-`)) return;
  }
  redraw = setTimeout(() => { redraw = null; void route(); }, 250);
}

/** Forecasts arrive per station; one refresh of them at a time, and one more if any arrived meanwhile. */
let forecastsLoading = null;
let forecastsStale = false;
function refreshForecasts() {
  if (forecastsLoading) return void (forecastsStale = true);
  forecastsLoading = api('/api/stations')
    .then((r) => {
      for (const s of r.stations) { const mine = state.stations.get(s.station_id); if (mine) mine.forecast = s.forecast; }
      changed(['station']);
    })
    .catch(() => {})
    .finally(() => {
      forecastsLoading = null;
      if (forecastsStale) { forecastsStale = false; refreshForecasts(); }
    });
}

async function load() {
  const [stations, alerts, fleet, network] = await Promise.all([api('/api/stations'), api('/api/alerts?limit=500'), api('/api/fleet'), api('/api/network')]);
  state.corridors = new Map(network.corridors.map((c) => [c.corridor_id, c]));
  state.intersectionOf = new Map(network.intersections.flatMap((x) => x.approaches.map((a) => [a.station_id, { ...x, approach: a.approach }])));
  state.stations = new Map(stations.stations.map((s) => [s.station_id, s]));
  state.alerts = alerts.alerts;
  state.fleet = fleet.devices;
}

function listen() {
  const live = document.getElementById('live');
  const events = new EventSource('/api/events');
  events.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  events.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'live off'; };
  events.addEventListener('window', (e) => {
    const w = JSON.parse(e.data);
    const s = w.level === 'station' ? state.stations.get(w.key) : null;
    if (!s) return;
    if (w.state === 'provisional') { if (!s.current || w.window_start_ms >= s.current.window_start_ms) s.current = w; }
    else if (!s.last_final || w.window_start_ms >= s.last_final.window_start_ms) {
      s.last_final = w;
      if (s.current && s.current.window_start_ms === w.window_start_ms) s.current = w;
    }
    changed(['map', 'station'], w.key);
  });
  events.addEventListener('alert', (e) => {
    const a = JSON.parse(e.data);
    state.alerts = [a, ...state.alerts.filter((x) => x.alert_id !== a.alert_id)];
    changed(['alerts', 'station'], a.key);
  });
  events.addEventListener('fleet', (e) => { state.fleet = JSON.parse(e.data); changed(['fleet']); });
  events.addEventListener('forecast', refreshForecasts);
}

window.addEventListener('hashchange', () => void route());
await load();
listen();
await route();
// The event stream carries every change; a slow refresh also catches what happened while it reconnected.
setInterval(() => void load().then(() => changed([current()])), 30_000);
setInterval(() => changed(['processing']), 5_000);
