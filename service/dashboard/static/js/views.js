// Rendering the panels from API answers. Text goes in as text (never as HTML).

import { bounds, daysBetween, describe, explain, formatDate, placeOf, until } from "./edtf.js";

const REGIONS = new Intl.DisplayNames(["en"], { type: "region" });
const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const COUNT = new Intl.NumberFormat("en");
const KINDS = {
  country: "Countries", organization: "Organizations", institution: "Institutions",
  company: "Companies",
};

/** An element with attributes (`class`, `title`, `href`, ...) and children (nodes or text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name === "className" ? "class" : name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

/** A country's English name from its ISO 3166-1 code, else the slug as it is. */
export function partyName(code, name = null) {
  if (name) return name;
  if (/^[A-Z]{2}$/.test(code)) {
    try {
      return REGIONS.of(code) ?? code;
    } catch {
      return code;
    }
  }
  // A short one-word slug is most likely an acronym (cnsa, esa, isro).
  return /^[a-z]{2,5}$/.test(code) ? code.toUpperCase() : titleCase(code);
}

function titleCase(slug) {
  return String(slug).split("-").map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");
}

function edtf(text) {
  return el("span", { title: explain(text) }, describe(text));
}

function badge(text, tone = "") {
  return el("span", { className: `badge${tone ? ` badge-${tone}` : ""}` }, text);
}

function source(src) {
  if (!src) return el("span", { className: "sub" }, "no source recorded");
  const title = src.title || src.url || "source";
  const link = src.url
    ? el("a", { href: src.url, rel: "noopener noreferrer external", target: "_blank" }, title)
    : el("span", {}, title);
  const details = [src.publisher, src.published && formatDate(src.published)].filter(Boolean);
  return el("div", { className: "source" }, link,
    details.length ? el("span", { className: "sub" }, details.join(" · ")) : null);
}

// -- key figures ---------------------------------------------------------------------------------

export function renderFigures(program, asOf, knownAt) {
  const figures = {
    count: program ? COUNT.format(program.member_count) : "0",
    possible: program ? COUNT.format(program.possible_member_count) : "0",
  };
  document.getElementById("member-count").textContent = figures.count;
  document.getElementById("possible-count").textContent = figures.possible;
  const knowing = knownAt ? `, as known on ${formatDate(knownAt)}` : "";
  document.getElementById("member-note").textContent = program
    ? `certain on ${formatDate(asOf)}${knowing}`
    : `not established by ${formatDate(asOf)}${knowing}`;
  const types = Object.entries(program?.member_counts_by_type ?? {});
  document.getElementById("by-type").replaceChildren(
    ...(types.length
      ? types.map(([type, n]) => el("li", {}, el("span", {}, KINDS[type] ?? titleCase(type)),
          el("strong", {}, COUNT.format(n))))
      : [el("li", { className: "sub" }, "none yet")]),
  );
}

export function renderProgram(program, summary) {
  const name = program?.name ?? summary?.name ?? "–";
  document.getElementById("program-name").textContent = name;
  const details = program ?? summary;
  const led = (details?.led_by ?? []).map((code) => partyName(code)).join(", ");
  const meta = details
    ? `established ${describe(details.established)}${led ? ` · led by ${led}` : ""}`
    : "";
  document.getElementById("program-meta").textContent = meta;
}

// -- members ---------------------------------------------------------------------------------------

export function renderMembers(answer, fresh = new Set()) {
  const members = answer?.members ?? [];
  const rows = members.map((member) => {
    const extra = [
      member.party_type !== "country" ? titleCase(member.party_type) : null,
      member.instrument, member.place,
    ].filter(Boolean);
    return el("tr", { className: fresh.has(member.party) ? "is-new" : null, "data-party": member.party },
      el("td", { className: "num" }, String(member.ordinal)),
      el("td", {},
        el("span", { className: "party-name" }, partyName(member.party, member.party_name)),
        el("span", { className: "code" }, member.party),
        member.certain ? null : [" ", badge("possibly", "warn")],
        extra.length ? el("span", { className: "sub" }, extra.join(" · ")) : null),
      el("td", {}, edtf(member.joined)),
      el("td", {}, source(member.source)));
  });
  document.querySelector("#members tbody").replaceChildren(...rows);
  document.getElementById("members-empty").hidden = rows.length > 0;
  const certain = members.filter((member) => member.certain).length;
  const possible = members.length - certain;
  document.getElementById("members-sub").textContent = members.length
    ? `${certain} certain${possible ? `, ${possible} possible` : ""}; same-day joiners share a number`
    : "";
}

// -- leases ----------------------------------------------------------------------------------------

function timeLeft(lease, asOf) {
  if (lease.status && lease.status !== "in force") return [badge(lease.status, "bad")];
  if (!lease.expires) return [el("span", { className: "sub" }, "no stated expiry")];
  const window = bounds(lease.expires);
  if (!window) return [el("span", {}, "–")];
  const place = placeOf(asOf, window);
  if (place === "after") return [badge("expired", "bad")];
  if (place === "within") return [badge("expiring now", "warn")];
  const meter = el("span", { className: "meter", role: "presentation" }, el("span"));
  const start = bounds(lease.signed)?.lower;
  if (start) {
    const elapsed = daysBetween(start, asOf) / Math.max(daysBetween(start, window.upper), 1);
    meter.firstChild.style.width = `${Math.min(Math.max(1 - elapsed, 0), 1) * 100}%`;
  }
  return [el("span", {}, until(asOf, window)), start ? meter : null];
}

export function renderLeases(answer, asOf) {
  const leases = answer?.leases ?? [];
  const rows = leases.map((lease) => {
    const rent = lease.rent
      ? new Intl.NumberFormat("en", {
          style: "currency", currency: lease.rent.currency, notation: "compact",
        }).format(lease.rent.amount) + ` a ${lease.rent.per}`
      : null;
    const amendments = lease.amendments?.length ?? 0;
    return el("tr", { "data-lease": lease.lease },
      el("td", {},
        el("span", { className: "party-name" }, titleCase(lease.facility)),
        el("span", { className: "sub" }, [lease.lease, rent].filter(Boolean).join(" · "))),
      el("td", {}, `${partyName(lease.lessor)} → ${partyName(lease.lessee)}`,
        el("span", { className: "sub" }, "lessor → lessee")),
      el("td", {}, lease.expires ? edtf(lease.expires) : "–",
        amendments ? el("span", { className: "sub" },
          `${amendments} amendment${amendments === 1 ? "" : "s"}`) : null),
      el("td", { className: "left" }, ...timeLeft(lease, asOf)));
  });
  document.querySelector("#leases tbody").replaceChildren(...rows);
  document.getElementById("leases-empty").hidden = rows.length > 0;
}

// -- missions --------------------------------------------------------------------------------------

function missionAxis(windows, asOf) {
  const years = [Number(asOf.slice(0, 4))];
  for (const window of windows) {
    if (window?.lower) years.push(Number(window.lower.slice(0, 4)));
    if (window?.upper) years.push(Number(window.upper.slice(0, 4)));
  }
  const first = Math.min(...years);
  const last = Math.max(...years) + 1;
  return { from: `${first}-01-01`, to: `${last}-01-01`, first, last };
}

function percent(axis, iso) {
  return (daysBetween(axis.from, iso) / daysBetween(axis.from, axis.to)) * 100;
}

function missionStatus(mission, window, asOf) {
  if (mission.status === "launched") {
    return badge(`launched ${mission.launched_on ? formatDate(mission.launched_on) : ""}`.trim(), "good");
  }
  if (mission.status === "cancelled") return badge("cancelled", "bad");
  if (!window) return badge(mission.status ?? "announced");
  const place = placeOf(asOf, window);
  if (place === "within") return badge("window open", "warn");
  if (place === "after") return badge("window passed", "bad");
  const time = until(asOf, window);
  return badge(time.startsWith("within") ? time : `in ${time}`);
}

export function renderMissions(answer, asOf, selected) {
  const missions = answer?.missions ?? [];
  const windows = missions.map((mission) => bounds(mission.planned));
  const axis = missionAxis(windows, asOf);
  const items = missions.map((mission, index) => {
    const window = windows[index];
    const bar = el("div", { className: "window", role: "presentation" });
    if (window) {
      const span = el("span", { className: "window-span" });
      const left = percent(axis, window.lower ?? axis.from);
      span.style.left = `${left}%`;
      span.style.width = `${percent(axis, window.upper ?? axis.to) - left}%`;
      bar.append(span);
    }
    const now = el("span", { className: "window-now", title: `as of ${formatDate(asOf)}` });
    now.style.left = `${percent(axis, asOf)}%`;
    bar.append(now);
    const about = [mission.operator && partyName(mission.operator), mission.target].filter(Boolean);
    return el("li", { "data-mission": mission.mission },
      el("div", { className: "mission-head" },
        el("span", {},
          el("span", { className: "mission-name" }, mission.name),
          mission.program ? el("span", { className: "code" }, mission.program) : null),
        el("span", {}, "planned ", edtf(mission.planned), " ", missionStatus(mission, window, asOf))),
      about.length ? el("span", { className: "sub" }, about.join(" · ")) : null,
      bar,
      el("div", { className: "window-scale", "aria-hidden": "true" },
        el("span", {}, String(axis.first)), el("span", {}, String(axis.last))));
  });
  document.getElementById("missions").replaceChildren(...items);
  document.getElementById("missions-empty").hidden = items.length > 0;
  const ours = missions.filter((mission) => mission.program === selected).length;
  document.getElementById("missions-sub").textContent = missions.length
    ? `planned windows, ${ours} of ${missions.length} in ${selected}; the line marks the date`
    : "planned windows; the line marks the date";
}

// -- events ----------------------------------------------------------------------------------------

function summary(event) {
  const d = event.data ?? {};
  const party = () => partyName(d.party, d.party_name);
  switch (event.type) {
    case "program.established": return `${d.name} established`;
    case "membership.signed": return `${party()} joined ${d.program}`;
    case "membership.withdrawn": return `${party()} withdrew from ${d.program}`;
    case "lease.signed": return `${titleCase(d.facility)} leased by ${partyName(d.lessor)} to ${partyName(d.lessee)}`;
    case "lease.amended": return `Lease ${d.lease} amended${d.note ? `: ${d.note}` : ""}`;
    case "lease.ended": return `Lease ${d.lease} ended`;
    case "mission.announced": return `${d.name} announced, planned ${describe(d.planned)}`;
    case "mission.rescheduled": return `${d.mission} rescheduled to ${describe(d.planned)}`;
    case "mission.launched": return `${d.name ?? d.mission} launched`;
    case "mission.cancelled": return `${d.mission} cancelled`;
    case "organization.announced": return `${d.name} announced`;
    case "organization.established": return `${d.name} established`;
    case "agreement.signed": return d.title ?? d.agreement;
    case "event.retracted": return `An event was retracted${d.reason ? `: ${d.reason}` : ""}`;
    default: return event.type;
  }
}

function ago(timestamp) {
  const minutes = Math.round((Date.parse(timestamp) - Date.now()) / 60_000);
  if (Math.abs(minutes) < 60) return RELATIVE.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return RELATIVE.format(hours, "hour");
  return RELATIVE.format(Math.round(hours / 24), "day");
}

/** The latest events, newest first; `fresh` holds positions that just arrived. */
export function renderEvents(events, fresh = new Set()) {
  const items = [...events].reverse().map((event) => {
    const family = event.type.split(".")[0];
    return el("li", { className: fresh.has(event.position) ? "is-new" : null, "data-position": event.position },
      el("span", { className: "event-pos", title: "log position" }, String(event.position)),
      el("div", { className: "event-line" },
        el("span", { className: `badge type-${family}` }, event.type),
        el("span", { className: "event-summary" }, summary(event)),
        event.corrects ? badge("correction", "warn") : null),
      el("span", { className: "event-meta" },
        `${event.stream} · in effect ${describe(event.effective)} · reported ${formatDate(event.reported_on)}`
        + ` · recorded ${ago(event.recorded_at)}`));
  });
  document.getElementById("events").replaceChildren(...items);
  document.getElementById("events-empty").hidden = items.length > 0;
}
