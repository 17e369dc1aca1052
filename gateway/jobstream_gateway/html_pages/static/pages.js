"use strict";
// jobstream's pages: the execute form, a job page that follows its job live, and a
// schedule page's pause, resume and run-now buttons.
// Requests go to the same origin as JSON. Changes carry X-Jobstream-Page, without which a
// signed-in browser's session cookie does not count (html_pages/session.py): a page of
// another site cannot send that header (it needs a CORS preflight this gateway never grants).
const PAGE_HEADERS = { "Accept": "application/json", "X-Jobstream-Page": "1" };

function problemText(body, status) {
  if (body && body.detail) return body.detail;
  return "HTTP " + status;
}

function inputValue(field) {
  const type = field.dataset.type;
  if (type === "boolean") return field.checked;
  if (field.value === "") return undefined;
  if (type === "integer" || type === "number") return Number(field.value);
  if (type === "json") return JSON.parse(field.value);
  return field.value;
}

async function submitExecute(form, event) {
  event.preventDefault();
  const error = document.getElementById("execute-error");
  error.textContent = "";
  const inputs = {};
  try {
    for (const field of form.querySelectorAll("[data-type]")) {
      const value = inputValue(field);
      if (value !== undefined) inputs[field.name] = value;
    }
  } catch (exc) {
    error.textContent = "An input is not valid JSON: " + exc.message;
    return;
  }
  const response = await fetch("/processes/" + form.dataset.process + "/execution", {
    method: "POST",
    headers: { ...PAGE_HEADERS, "Content-Type": "application/json", "Prefer": "respond-async" },
    body: JSON.stringify({ inputs: inputs }),
  });
  const body = await response.json().catch(() => null);
  if (response.status === 201 && body && body.jobID) {
    window.location.assign("/jobs/" + body.jobID);
  } else {
    error.textContent = problemText(body, response.status);
  }
}

const FINAL = ["successful", "failed", "dismissed"];
// At most one page render per this many ms: a data job's events come by the hundred.
const REFRESH_EVERY_MS = 500;

// The page as the gateway renders it now. Asked as HTML and never from or into the HTTP
// cache: the page's URL is also its job's JSON, and a stored answer is not the page now.
async function renderedNow() {
  // A gateway away for a moment (a restart) is no error: the next event asks again.
  const response = await fetch(window.location.href, {
    headers: { "Accept": "text/html" },
    cache: "no-store",
  }).catch(() => null);
  if (!response || !response.ok) return null;
  return new DOMParser().parseFromString(await response.text(), "text/html");
}

// Replaces the page's live part (status, times, picture, history) with the one rendered
// now, keeping open the summaries the reader opened; answers the job's status (none on a
// schedule's page).
async function refreshLive() {
  const fresh = await renderedNow();
  const live = fresh && fresh.getElementById("live");
  if (!live) return null;
  const current = document.getElementById("live");
  const opened = [...current.querySelectorAll("tr[data-row] details[open]")]
    .map((details) => details.closest("tr").dataset.row);
  current.replaceWith(document.adoptNode(live));
  for (const row of opened) {
    const details = live.querySelector('tr[data-row="' + row + '"] details');
    if (details) details.open = true;
  }
  const job = live.querySelector("#job");
  return job ? job.dataset.status : null;
}

// ``work`` run after each call, but never two at once nor more often than REFRESH_EVERY_MS:
// calls that come meanwhile are answered by one more run.
function throttled(work) {
  let running = false, again = false, last = 0;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    const wait = last + REFRESH_EVERY_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    again = false;
    last = Date.now();
    try { await work(); } finally { running = false; }
    if (again) run();
  };
  return run;
}

function followJob(section) {
  if (FINAL.includes(section.dataset.status)) return;
  // The job's events after those the page shows: each one a reason to render it anew.
  const events = new EventSource(
    "/jobs/" + section.dataset.job + "/events?after=" + section.dataset.after);
  const refresh = throttled(async () => {
    if (FINAL.includes(await refreshLive())) events.close();
  });
  // Each event is named by its CloudEvents type: listen for every type there is.
  for (const type of section.dataset.eventTypes.split(" ")) {
    events.addEventListener(type, refresh);
  }
  // The stream ends after the job's final event, or breaks: the page may have missed it.
  events.addEventListener("error", refresh);
}

function duration(seconds) {
  if (seconds < 10) return seconds.toFixed(1) + " s";
  const whole = Math.floor(seconds);
  if (whole < 60) return whole + " s";
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return minutes + " min " + (whole % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

// A running job's elapsed time, between two renders of the page.
function tickElapsed() {
  const elapsed = document.querySelector("#elapsed[data-since]");
  if (!elapsed) return;
  // Never below zero, should this machine's clock run behind the gateway's.
  const seconds = Math.max(0, (Date.now() - Date.parse(elapsed.dataset.since)) / 1000);
  elapsed.textContent = duration(seconds);
}

async function dismiss(job) {
  const response = await fetch("/jobs/" + job, { method: "DELETE", headers: PAGE_HEADERS });
  if (response.ok) {
    await refreshLive();
  } else {
    const body = await response.json().catch(() => null);
    document.getElementById("dismiss-error").textContent = problemText(body, response.status);
  }
}

// Pauses or resumes the schedule (the page says which it is now), then renders the page's
// live part anew: its state, its next firings, the button's label, the history.
async function togglePaused(button) {
  const section = document.getElementById("schedule");
  const error = document.getElementById("schedule-error");
  error.textContent = "";
  button.disabled = true;
  const response = await fetch("/schedules/" + section.dataset.schedule, {
    method: "PATCH",
    headers: { ...PAGE_HEADERS, "Content-Type": "application/json" },
    body: JSON.stringify({ paused: section.dataset.paused !== "true" }),
  });
  if (response.ok) {
    await refreshLive();
  } else {
    const body = await response.json().catch(() => null);
    error.textContent = problemText(body, response.status);
    button.disabled = false;
  }
}

// Runs the schedule now, a firing of its own, and opens the job it made.
async function runNow(button) {
  const section = document.getElementById("schedule");
  const error = document.getElementById("schedule-error");
  error.textContent = "";
  button.disabled = true;
  const response = await fetch("/schedules/" + section.dataset.schedule + "/trigger", {
    method: "POST",
    headers: PAGE_HEADERS,
  });
  const body = await response.json().catch(() => null);
  if (response.status === 201 && body && body.jobID) {
    window.location.assign("/jobs/" + body.jobID);
  } else {
    error.textContent = problemText(body, response.status);
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("execute");
  if (form) form.addEventListener("submit", (event) => submitExecute(form, event));
  const section = document.getElementById("job");
  if (section) {
    followJob(section);
    setInterval(tickElapsed, 1000);
    // On the document: the button is rendered anew with the rest of the live part.
    document.addEventListener("click", (event) => {
      if (event.target.id === "dismiss") dismiss(section.dataset.job);
    });
  }
  if (document.getElementById("schedule")) {
    // On the document too: the buttons are rendered anew with the live part.
    document.addEventListener("click", (event) => {
      if (event.target.id === "pause") togglePaused(event.target);
      if (event.target.id === "run-now") runNow(event.target);
    });
  }
});
