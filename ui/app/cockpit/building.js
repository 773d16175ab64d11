// The building panel (楼盘表): a building's dwellings floor by floor, each with its occupancy
// (residents tied to it) and a mark where someone needs care. Personal data comes masked from the
// API for roles that may not see it; the panel shows it as it comes and never unmasks anything.
import { get, getAll, esc, errorText } from '/shared/api.js';
import { t, label } from '/shared/i18n.js';

let me = null;
let openToken = 0;
let current = null; // { building, units, dwellings, people: Map(code -> residents[]) }

const panel = () => document.getElementById('building-panel');

export function closeBuilding() {
  openToken += 1;
  current = null;
  const el = panel();
  if (el) { el.hidden = true; el.innerHTML = ''; }
}

export function buildingOpen() {
  return current?.building.code || null;
}

/** Opens the panel of building `code` (`title` names it while it loads). */
export async function openBuilding(code, title = '') {
  const token = ++openToken;
  const el = panel();
  el.hidden = false;
  el.innerHTML = `<div class="bp-head"><h3>${esc(title)}</h3><button type="button" class="ghost bp-close">${esc(t('building.close'))}</button></div><div class="bp-loading">${esc(t('building.loading'))}</div>`;
  el.querySelector('.bp-close').addEventListener('click', closeBuilding);
  try {
    const [building, chain, units, dwellings, residents, who] = await Promise.all([
      get(`/regions/${encodeURIComponent(code)}`),
      get(`/regions/${encodeURIComponent(code)}/ancestors`).catch(() => []),
      getAll('/regions', { within: code, level: 'unit' }),
      getAll('/regions', { within: code, level: 'dwelling' }),
      getAll('/residents', { within: code }),
      me || get('/auth/me').catch(() => null),
    ]);
    if (token !== openToken) return;
    me = who;
    const people = new Map(dwellings.map((d) => [d.code, []]));
    for (const r of residents) {
      const codes = r.dwellings?.length ? r.dwellings.map((d) => d.dwelling_code) : [r.home_code];
      for (const c of codes) {
        if (!people.has(c)) people.set(c, []);
        people.get(c).push({ ...r, relation: r.dwellings?.find((d) => d.dwelling_code === c)?.relation });
      }
    }
    const community = chain.find((a) => a.level === 'community');
    current = { building, community, units, dwellings, residents, people };
    render(el);
  } catch (error) {
    if (token !== openToken) return;
    el.querySelector('.bp-loading').textContent = errorText(error);
    el.querySelector('.bp-loading').classList.add('error');
  }
}

/** Re-renders in the current language (after a switch). */
export function rerenderBuilding() {
  const el = panel();
  if (current && el && !el.hidden) render(el);
}

function floorOf(d) {
  if (Number.isFinite(d.attributes?.floor)) return d.attributes.floor;
  const m = /(\d{1,2})\d{2}$/.exec(d.code);
  return m ? Number(m[1]) : 0;
}

function occClass(n) {
  return n === 0 ? 'occ-0' : n <= 2 ? 'occ-1' : n <= 4 ? 'occ-2' : 'occ-3';
}

function render(el, selected = null) {
  const { building, community, units, dwellings, residents, people } = current;
  const occupied = dwellings.filter((d) => people.get(d.code)?.length).length;
  const care = residents.filter((r) => r.care_tags?.length);
  const rate = dwellings.length ? `${Math.round((occupied / dwellings.length) * 100)}%` : '—';
  const floors = building.attributes?.floors;
  // Units in order, dwellings grouped by floor; dwellings straight under the building form one block.
  const blocks = new Map(units.map((u) => [u.code, { unit: u, floors: new Map() }]));
  for (const d of dwellings) {
    const key = blocks.has(d.parent_code) ? d.parent_code : building.code;
    if (!blocks.has(key)) blocks.set(key, { unit: null, floors: new Map() });
    const f = floorOf(d);
    if (!blocks.get(key).floors.has(f)) blocks.get(key).floors.set(f, []);
    blocks.get(key).floors.get(f).push(d);
  }
  const unitsHtml = [...blocks.values()].filter((b) => b.floors.size).map((b) => {
    const rows = [...b.floors.entries()].sort((x, y) => y[0] - x[0]).map(([f, list]) => {
      const cells = list.sort((x, y) => x.code.localeCompare(y.code)).map((d) => {
        const here = people.get(d.code) || [];
        const hasCare = here.some((r) => r.care_tags?.length);
        const room = d.name.replace(/室$/, '');
        return `<button type="button" class="dwelling ${occClass(here.length)}${hasCare ? ' care' : ''}${d.code === selected ? ' selected' : ''}" data-code="${esc(d.code)}" data-occupancy="${here.length}" title="${esc(d.name)}">`
          + `<span class="room">${esc(room)}</span><span class="occupancy">${here.length ? `${here.length}${esc(t('units.people'))}` : esc(t('building.vacant'))}</span></button>`;
      }).join('');
      return `<div class="bp-floor"><span>${f}F</span>${cells}</div>`;
    }).join('');
    return `<div class="bp-unit"><h4>${esc(b.unit ? b.unit.name : building.name)}</h4>${rows}</div>`;
  }).join('');

  const tagCounts = new Map();
  care.forEach((r) => r.care_tags.forEach((tag) => tagCounts.set(tag, (tagCounts.get(tag) || 0) + 1)));
  const title = `${community ? `${community.name} · ` : ''}${building.name}`;
  el.innerHTML = `
    <div class="bp-head">
      <h3>${esc(t('building.title', { name: title }))}<small>${floors ? esc(t('building.floors', { n: floors })) : ''} · ${units.length} ${esc(t('building.unit'))}</small></h3>
      <button type="button" class="ghost bp-close">${esc(t('building.close'))}</button>
    </div>
    <div class="bp-stats">
      <div class="bp-stat"><b id="bp-dwellings">${dwellings.length}</b><span>${esc(t('building.dwellings'))}</span></div>
      <div class="bp-stat"><b id="bp-occupied">${occupied}</b><span>${esc(t('building.occupied'))}</span></div>
      <div class="bp-stat"><b>${rate}</b><span>${esc(t('building.occupancy'))}</span></div>
      <div class="bp-stat"><b id="bp-residents">${residents.length}</b><span>${esc(t('building.residents'))}</span></div>
      <div class="bp-stat"><b>${care.length}</b><span>${esc(t('building.care'))}</span></div>
    </div>
    <div class="bp-body">
      <div class="bp-units">${unitsHtml || `<p class="muted">${esc(t('empty'))}</p>`}</div>
      <aside class="bp-side">${side(selected, tagCounts, care)}</aside>
    </div>`;
  el.querySelector('.bp-close').addEventListener('click', closeBuilding);
  el.querySelectorAll('.dwelling').forEach((b) => b.addEventListener('click', () => render(el, b.dataset.code)));
}

function person(r, withDwelling) {
  const bits = [label('gender', r.gender) && t(`gender.${r.gender}`), r.relation && t(`relation.${r.relation}`), t(`residence.${r.residence_kind}`)].filter((x) => x && !x.includes('.'));
  const dwelling = withDwelling ? current.dwellings.find((d) => d.code === (r.dwellings?.[0]?.dwelling_code || r.home_code)) : null;
  return `<div class="bp-person"><b>${esc(r.name)}</b><span class="meta">${esc(bits.join(' · '))}${dwelling ? ` · ${esc(dwelling.name)}` : ''}</span>`
    + `<div>${(r.care_tags || []).map((tag) => `<span class="care-tag">${esc(label('care_tag', tag))}</span>`).join('')}</div></div>`;
}

function side(selected, tagCounts, care) {
  const note = `<p class="note">${esc(t(me?.sees_sensitive ? 'building.unmasked' : 'building.masked'))}</p>`;
  const legend = `<div class="bp-legend"><span><i style="background:rgba(60,80,110,.35)"></i>${esc(t('building.vacant'))}</span><span><i style="background:rgba(0,120,220,.35)"></i>1–2</span>`
    + `<span><i style="background:rgba(0,160,255,.5)"></i>3–4</span><span><i style="background:rgba(0,200,255,.7)"></i>5+</span>`
    + `<span><i style="background:#ffc53d;border-radius:50%;width:10px"></i>${esc(t('building.care'))}</span></div>`;
  if (selected) {
    const d = current.dwellings.find((x) => x.code === selected);
    const here = current.people.get(selected) || [];
    return `<h4>${esc(d?.name || selected)} · ${here.length}${esc(t('units.people'))}</h4>${note}`
      + (here.length ? here.map((r) => person(r, false)).join('') : `<p class="muted">${esc(t('building.nobody'))}</p>`);
  }
  const tags = [...tagCounts.entries()].sort((a, b) => b[1] - a[1]).map(([tag, n]) => `<span class="care-tag">${esc(label('care_tag', tag))} ${n}</span>`).join('');
  return `<h4>${esc(t('building.legend'))}</h4>${legend}<p class="note">${esc(t('building.pick'))}</p>`
    + `<h4>${esc(t('building.care_list'))}</h4><div>${tags}</div>${note}${care.slice(0, 60).map((r) => person(r, true)).join('')}`;
}
