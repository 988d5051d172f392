// The dashboard: the controls, the reads behind each panel, and live updates.
// State lives in the URL (?program=&as_of=&known_at=&interval=), so a view can be shared.

import { ApiError, getJson, getJsonOr } from "./api.js";
import { MemberChart } from "./chart.js";
import { bounds } from "./edtf.js";
import { follow } from "./live.js";
import * as views from "./views.js";

const COMPARED = [
  { program: "ilrs", color: "--ilrs" },
  { program: "artemis-accords", color: "--artemis" },
];
const OTHER_COLOR = "--series-3";
const LIVE_PROJECTIONS = ["programs", "leases", "missions"];
const EVENTS_SHOWN = 25;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const $ = (id) => document.getElementById(id);
const today = () => new Date().toISOString().slice(0, 10);
const path = (...parts) => parts.map(encodeURIComponent).join("/");

const state = { program: null, asOf: today(), knownAt: "", interval: "month" };
let programs = [];
let events = [];
let shownMembers = { key: null, parties: new Set() };
let reading = null;
const chart = new MemberChart($("chart"));

// -- state and URL ---------------------------------------------------------------------------------

function readUrl() {
  const query = new URLSearchParams(window.location.search);
  state.program = query.get("program");
  state.asOf = ISO_DATE.test(query.get("as_of") ?? "") ? query.get("as_of") : today();
  state.knownAt = ISO_DATE.test(query.get("known_at") ?? "") ? query.get("known_at") : "";
  state.interval = query.get("interval") === "year" ? "year" : "month";
}

function writeUrl() {
  const query = new URLSearchParams({ program: state.program, as_of: state.asOf });
  if (state.knownAt) query.set("known_at", state.knownAt);
  if (state.interval !== "month") query.set("interval", state.interval);
  window.history.replaceState(null, "", `?${query}`);
}

function showControls() {
  $("program").value = state.program ?? "";
  $("as-of").value = state.asOf;
  $("known-at").value = state.knownAt;
  for (const button of document.querySelectorAll("[data-interval]")) {
    button.setAttribute("aria-pressed", String(button.dataset.interval === state.interval));
  }
}

function showError(error) {
  const banner = $("error");
  if (!error) {
    banner.hidden = true;
    return;
  }
  let text = error.message;
  if (error instanceof ApiError && error.status === 401) {
    text = "This server requires a token for reads; the dashboard needs open reads "
      + "(ACCORDLOG_READ_TOKEN_REQUIRED=0).";
  } else if (!(error instanceof ApiError)) {
    text = `The service does not answer (${error.message}).`;
  }
  banner.textContent = text;
  banner.hidden = false;
}

// -- reads -----------------------------------------------------------------------------------------

async function loadPrograms() {
  programs = (await getJson("/v1/programs")).programs;
  const options = programs.map((program) => {
    const option = document.createElement("option");
    option.value = program.program;
    option.textContent = program.name;
    return option;
  });
  $("program").replaceChildren(...options);
  const known = new Set(programs.map((program) => program.program));
  if (!known.has(state.program)) {
    state.program = known.has("ilrs") ? "ilrs" : (programs[0]?.program ?? null);
  }
  showControls();
}

function compared() {
  const chosen = COMPARED.filter(({ program }) => programs.some((p) => p.program === program));
  if (state.program && !chosen.some(({ program }) => program === state.program)) {
    chosen.push({ program: state.program, color: OTHER_COLOR });
  }
  return chosen.map((entry) => ({ ...entry, summary: programs.find((p) => p.program === entry.program) }));
}

/** A label that fits a legend: the name, or for a long one its slug in capitals (ILRS). */
function shortName(slug, name) {
  if (name && name.length <= 24) return name;
  return slug.length <= 8 ? slug.toUpperCase() : (name ?? slug);
}

async function timelines(signal) {
  const series = compared();
  const starts = series.map(({ summary }) => bounds(summary?.established)?.lower).filter(Boolean);
  const from = starts.sort()[0];
  if (!from || from > state.asOf) return [];
  const params = { from, to: state.asOf, interval: state.interval, known_at: state.knownAt };
  const answers = await Promise.all(series.map(({ program }) =>
    getJsonOr({ points: [] }, `/v1/programs/${path(program)}/timeline`, params, signal)));
  return series.map(({ summary, color, program }, index) => ({
    label: shortName(program, summary?.name), program, color, points: answers[index].points,
  }));
}

function describeChart(series) {
  const last = series.filter((s) => s.points.length).map((s) => {
    const point = s.points[s.points.length - 1];
    return `${s.label}: ${point.member_count} members on ${point.date}`;
  });
  $("chart").setAttribute("aria-label", last.length
    ? `Member counts over time, by ${state.interval}. ${last.join("; ")}.`
    : "No member counts for this date.");
}

function newcomers(answer, live) {
  const key = `${state.program}|${state.asOf}|${state.knownAt}`;
  const parties = new Set((answer?.members ?? []).map((member) => member.party));
  const fresh = live && shownMembers.key === key
    ? new Set([...parties].filter((party) => !shownMembers.parties.has(party)))
    : new Set();
  shownMembers = { key, parties };
  return fresh;
}

/** Read every panel for the current state; a newer refresh cancels an older one. */
async function refresh({ live = false } = {}) {
  if (!state.program) return;
  reading?.abort();
  reading = new AbortController();
  const { signal } = reading;
  const at = { as_of: state.asOf, known_at: state.knownAt };
  const program = path(state.program);
  document.body.setAttribute("aria-busy", "true");
  try {
    const [detail, members, leases, missions, series] = await Promise.all([
      getJsonOr(null, `/v1/programs/${program}`, at, signal),
      getJsonOr(null, `/v1/programs/${program}/members`, at, signal),
      getJson("/v1/leases", at, signal),
      getJson("/v1/missions", at, signal),
      timelines(signal),
    ]);
    views.renderFigures(detail, state.asOf, state.knownAt);
    views.renderProgram(detail, programs.find((p) => p.program === state.program));
    views.renderMembers(members, newcomers(members, live));
    views.renderLeases(leases, state.asOf);
    views.renderMissions(missions, state.asOf, state.program);
    chart.show(series);
    describeChart(series);
    $("position").textContent = `Reflects the log up to position ${leases.position}`;
    document.body.dataset.position = String(leases.position);
    showError(null);
  } catch (error) {
    if (error.name !== "AbortError") showError(error);
  } finally {
    if (!signal.aborted) document.body.removeAttribute("aria-busy");
  }
}

let eventsQueue = Promise.resolve();

/** The newest events at first, then whatever the log has after the last one shown. Calls run
 * one after another (a change can arrive while the first page is loading), and an event is
 * never listed twice. */
function refreshEvents() {
  eventsQueue = eventsQueue.catch(() => {}).then(async () => {
    const last = events.at(-1)?.position;
    const page = last === undefined
      ? await getJson("/v1/events", { tail: "true", limit: EVENTS_SHOWN })
      : await getJson("/v1/events", { after: last, limit: 1000 });
    const shown = new Set(events.map((event) => event.position));
    const added = page.events.filter((event) => !shown.has(event.position));
    const fresh = last === undefined ? new Set() : new Set(added.map((event) => event.position));
    events = [...events, ...added].slice(-EVENTS_SHOWN);
    views.renderEvents(events, fresh);
  });
  return eventsQueue;
}

// -- wiring ----------------------------------------------------------------------------------------

function debounce(action, milliseconds) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => action(...args), milliseconds);
  };
}

const changed = debounce(() => {
  writeUrl();
  refresh();
}, 120);

const changedProjections = new Set();

const applyChanges = debounce(async () => {
  const projections = new Set(changedProjections);
  changedProjections.clear();
  try {
    if (projections.has("programs")) await loadPrograms();
    await Promise.all([refresh({ live: true }), refreshEvents()]);
  } catch (error) {
    showError(error);
  }
}, 150);

function changeArrived(projection) {
  changedProjections.add(projection);
  applyChanges();
}

function wireControls() {
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("program").addEventListener("change", (event) => {
    state.program = event.target.value;
    changed();
  });
  $("as-of").addEventListener("change", (event) => {
    if (!ISO_DATE.test(event.target.value)) return;
    state.asOf = event.target.value;
    changed();
  });
  $("known-at").addEventListener("change", (event) => {
    const value = event.target.value;
    if (value && !ISO_DATE.test(value)) return;
    state.knownAt = value;
    changed();
  });
  $("today").addEventListener("click", () => {
    state.asOf = today();
    showControls();
    changed();
  });
  $("hindsight").addEventListener("click", () => {
    state.knownAt = "";
    showControls();
    changed();
  });
  for (const button of document.querySelectorAll("[data-interval]")) {
    button.addEventListener("click", () => {
      state.interval = button.dataset.interval;
      showControls();
      changed();
    });
  }
}

function showLive(liveState) {
  const text = { live: "Live", reconnecting: "Reconnecting…", offline: "Offline: not following" };
  $("live").dataset.state = liveState;
  $("live-text").textContent = text[liveState] ?? liveState;
}

async function start() {
  readUrl();
  wireControls();
  try {
    await loadPrograms();
    writeUrl();
    // Follow first: a change that lands while the panels load still refreshes them.
    await follow(LIVE_PROJECTIONS, changeArrived, showLive);
  } catch (error) {
    showLive("offline");
    showError(error);
  }
  await Promise.all([refresh(), refreshEvents().catch(showError)]);
  document.body.dataset.ready = "true";
}

start();
