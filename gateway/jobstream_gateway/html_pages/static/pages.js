"use strict";
// jobstream's pages: the execute form, and a job page that follows its job live.
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

function showStatus(job) {
  const status = document.getElementById("status");
  status.textContent = job.status;
  status.className = "status " + job.status;
  const percent = job.percent != null ? job.percent : job.progress;
  if (percent != null) {
    document.getElementById("progress").value = percent;
    document.getElementById("percent").textContent = Math.round(percent) + " %";
  }
  if (job.total) {
    document.getElementById("counts").textContent = job.done + " of " + job.total;
  }
  document.getElementById("message").textContent = job.message || "";
}

const FINAL = ["successful", "failed", "dismissed"];

function followJob(section) {
  if (FINAL.includes(section.dataset.status)) return;
  const job = section.dataset.job;
  // One request at a time: the job's event stream, history first and then live.
  const events = new EventSource("/jobs/" + job + "/events");
  const refresh = async () => {
    const response = await fetch("/jobs/" + job, { headers: { "Accept": "application/json" } });
    if (!response.ok) return;
    const status = await response.json();
    showStatus(status);
    if (FINAL.includes(status.status)) {
      events.close();
      window.location.reload();
    }
  };
  // Each event is named by its CloudEvents type: listen for every type there is.
  for (const type of section.dataset.eventTypes.split(" ")) {
    events.addEventListener(type, refresh);
  }
}

async function dismiss(job) {
  const response = await fetch("/jobs/" + job, { method: "DELETE", headers: PAGE_HEADERS });
  if (response.ok) {
    window.location.reload();
  } else {
    const body = await response.json().catch(() => null);
    document.getElementById("dismiss-error").textContent = problemText(body, response.status);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("execute");
  if (form) form.addEventListener("submit", (event) => submitExecute(form, event));
  const section = document.getElementById("job");
  if (section) {
    followJob(section);
    const button = document.getElementById("dismiss");
    if (button) button.addEventListener("click", () => dismiss(section.dataset.job));
  }
});
