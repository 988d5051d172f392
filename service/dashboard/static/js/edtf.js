// The EDTF forms accordlog stores (2024-07-03, 2024-05?, 2026~, 202X, 2026/2035, ../2024-07-06):
// their bounds as ISO dates, words for people, and spans of time between dates.

const QUALIFIERS = /[?~%]/g;
const SINGLE = /^(\d{2}[\dX]{2})(?:-([\dX]{2})(?:-([\dX]{2}))?)?$/;
const DAY = new Intl.DateTimeFormat("en-GB", {
  day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
});
const MONTH = new Intl.DateTimeFormat("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });

const SEASONS = { 21: "spring", 22: "summer", 23: "autumn", 24: "winter" };  // EDTF level 1
const SEASON_MONTHS = { 21: [3, 5], 22: [6, 8], 23: [9, 11], 24: [12, 12] };
const pad = (number, width = 2) => String(number).padStart(width, "0");
const isoDate = (year, month, day) => `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
const lastDay = (year, month) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const asDate = (iso) => new Date(`${iso}T00:00:00Z`);

function part(text, low, high) {
  if (text === undefined || text === "XX") return [low, high];
  const value = Number(text);
  return value >= low && value <= high ? [value, value] : null;
}

function singleBounds(text) {
  const match = SINGLE.exec(text.replace(QUALIFIERS, ""));
  if (!match) return null;
  const [, yearText, monthText, dayText] = match;
  const years = [Number(yearText.replaceAll("X", "0")), Number(yearText.replaceAll("X", "9"))];
  const season = SEASON_MONTHS[monthText];
  if (season && dayText === undefined) {  // the bounds the service gives seasons
    const [from, to] = season;
    return { lower: isoDate(years[0], from, 1), upper: isoDate(years[1], to, lastDay(years[1], to)) };
  }
  const months = part(monthText, 1, 12);
  if (!months) return null;
  const days = part(dayText, 1, lastDay(years[0], months[0]));
  if (!days) return null;
  const upperDay = dayText === undefined || dayText === "XX" ? lastDay(years[1], months[1]) : days[1];
  return { lower: isoDate(years[0], months[0], days[0]), upper: isoDate(years[1], months[1], upperDay) };
}

/** `{lower, upper}` ISO dates of an EDTF value (null for an open end), or null if unknown. */
export function bounds(text) {
  if (!text) return null;
  const ends = text.split("/");
  if (ends.length === 1) return singleBounds(text);
  if (ends.length !== 2) return null;
  const open = (end) => end === "" || end === "..";
  const start = open(ends[0]) ? { lower: null } : singleBounds(ends[0]);
  const end = open(ends[1]) ? { upper: null } : singleBounds(ends[1]);
  return start && end ? { lower: start.lower, upper: end.upper } : null;
}

/** A date as people read it: 3 Jul 2024. */
export function formatDate(iso) {
  return iso ? DAY.format(asDate(iso)) : "";
}

function describeSingle(text) {
  const core = text.replace(QUALIFIERS, "");
  const approximate = /[~%]/.test(text);
  const uncertain = /[?%]/.test(text);
  let words = core;
  if (/^\d{3}X$/.test(core)) words = `the ${core.slice(0, 3)}0s`;
  else if (/^\d{2}XX$/.test(core)) words = `the ${core.slice(0, 2)}00s`;
  else if (/^\d{4}-(0[1-9]|1[0-2])$/.test(core)) words = MONTH.format(asDate(`${core}-01`));
  else if (/^\d{4}-2[1-4]$/.test(core)) words = `${SEASONS[core.slice(5)]} ${core.slice(0, 4)}`;
  else if (bounds(core)?.lower === core) words = formatDate(core);
  return `${approximate ? "about " : ""}${words}${uncertain ? "?" : ""}`;
}

/** An EDTF value in words: "about 2026", "May 2024?", "by 6 Jul 2024", "the 2020s". */
export function describe(text) {
  if (!text) return "";
  const ends = text.split("/");
  if (ends.length !== 2) return describeSingle(text);
  const open = (end) => end === "" || end === "..";
  if (open(ends[0]) && open(ends[1])) return "at an unknown time";
  if (open(ends[0])) return `by ${describeSingle(ends[1])}`;
  if (open(ends[1])) return `from ${describeSingle(ends[0])}`;
  return `${describeSingle(ends[0])} – ${describeSingle(ends[1])}`;
}

/** What the EDTF qualifiers of a value mean, for a tooltip. */
export function explain(text) {
  const notes = [];
  if (/[~%]/.test(text)) notes.push("approximate");
  if (/[?%]/.test(text)) notes.push("uncertain");
  if (/X/.test(text)) notes.push("some digits unspecified");
  if (text.includes("/")) notes.push("an interval");
  return `EDTF ${text}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}

function monthsBetween(from, to) {
  const [y1, m1, d1] = from.split("-").map(Number);
  const [y2, m2, d2] = to.split("-").map(Number);
  return (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0);
}

/** Whole days from one ISO date to another. */
export function daysBetween(from, to) {
  return Math.round((asDate(to) - asDate(from)) / 86_400_000);
}

const plural = (count, unit) => `${count} ${unit}${count === 1 ? "" : "s"}`;

/** The time from one ISO date to a later one, coarsely: "23 years", "1 year 2 months", "5 days". */
export function duration(from, to) {
  const months = monthsBetween(from, to);
  if (months >= 24) return plural(Math.floor(months / 12), "year");
  if (months >= 12) return months === 12 ? "1 year" : `1 year ${plural(months - 12, "month")}`;
  if (months >= 1) return plural(months, "month");
  return plural(Math.max(daysBetween(from, to), 0), "day");
}

/** The time from `day` until a window `{lower, upper}` that starts later: "23–24 years". */
export function until(day, window) {
  const soonest = duration(day, window.lower);
  if (!window.upper || window.upper === window.lower) return soonest;
  const latest = duration(day, window.upper);
  if (soonest === latest) return soonest;
  if (monthsBetween(day, window.lower) < 1) return `within ${latest}`;
  const [soon, soonUnit] = soonest.split(" ");
  const [late, lateUnit] = latest.split(" ");
  const sameUnit = soonUnit.replace(/s$/, "") === lateUnit.replace(/s$/, "");
  const simple = soonest.split(" ").length === 2 && latest.split(" ").length === 2;
  return sameUnit && simple ? `${soon}–${late} ${lateUnit}` : `${soonest} – ${latest}`;
}

/** Where `day` stands against an EDTF window: before it, within it, or after it. */
export function placeOf(day, window) {
  if (window.upper && window.upper < day) return "after";
  if (window.lower && window.lower > day) return "before";
  return "within";
}
