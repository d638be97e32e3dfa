// The live page: asks its own server for the class's last reading every two seconds (never AWS)
// and redraws the rows in place; says how fresh the reading is.
"use strict";

const WORDS = { on_track: "on track", stuck: "stuck", done: "done", broken: "broken" };
let seenAt = null;

function cell(row, text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "no key";
  return seconds < 5400 ? `${Math.round(seconds / 60)} min old` : `${Math.round(seconds / 3600)} h old`;
}

function draw(doc) {
  document.getElementById("class").textContent = doc.class;
  const s = doc.summary;
  document.getElementById("summary").innerHTML = "";
  for (const [key, text] of [["total", "students"], ["on_track", "on track"], ["stuck", "stuck"], ["done", "done"], ["broken", "broken"]]) {
    const span = document.createElement("span");
    span.id = `summary-${key}`;
    span.textContent = `${s[key]} ${text}`;
    document.getElementById("summary").appendChild(span);
  }
  seenAt = doc.seen_at;
  const body = document.getElementById("rows");
  body.innerHTML = "";
  for (const st of doc.students) {
    const tr = document.createElement("tr");
    tr.className = st.condition;
    tr.id = `student-${st.lab}`;
    cell(tr, st.lab);
    const c = cell(tr, "");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = WORDS[st.condition] || st.condition;
    c.appendChild(badge);
    c.appendChild(document.createElement("br"));
    c.appendChild(document.createTextNode(st.reason));
    cell(tr, st.user ? `${age(st.key_age_seconds)}, used ${ago(st.key_last_used)}` : "no user");
    cell(tr, st.session ? (st.session.seconds_left > 0 ? `${Math.ceil(st.session.seconds_left / 60)} min left at most` : "ended") : "none in 15 min");
    cell(tr, ago(st.role_last_used));
    cell(tr, st.stack ? st.stack.status : "none");
    cell(tr, st.expires ? (st.expires.expired ? "expired" : st.expires.at) : "-");
    cell(tr, `${st.lesson.applied || "-"} · ${st.challenge || "-"}`);
    cell(tr, st.passed.length ? st.passed.map((p) => `${p.kind === "lesson" ? "lesson " : ""}${p.name} ${p.at.slice(11, 16)}`).join(", ") : "-");
    cell(tr, String(st.refusals_recent)).className = "refusals";
    const last = cell(tr, "", "last");
    if (st.last_refusal) {
      const r = st.last_refusal;
      last.appendChild(document.createTextNode(`${r.time.slice(11, 19)} ${r.operation} ${r.error_code || ""}`));
      if (r.why) { const d = document.createElement("div"); d.className = "why"; d.textContent = r.why; last.appendChild(d); }
      if (r.change) { const d = document.createElement("div"); d.className = "change"; d.textContent = `→ ${r.change}`; last.appendChild(d); }
    } else {
      last.textContent = st.trail_error ? `trail: ${st.trail_error}` : "-";
    }
    body.appendChild(tr);
  }
}

function fresh() {
  document.getElementById("fresh").textContent = seenAt ? `read ${ago(seenAt)} (at ${seenAt}); the page asks again every 2 s` : "";
}

async function poll() {
  try {
    const r = await fetch("/class.json", { cache: "no-store" });
    const doc = await r.json();
    document.getElementById("error").textContent = doc.error ? `the last reading failed: ${doc.error}` : "";
    if (doc.students) draw(doc);
  } catch (e) {
    document.getElementById("error").textContent = `the lab's server does not answer: ${e}`;
  }
  fresh();
}

poll();
setInterval(poll, 2000);
setInterval(fresh, 1000);
