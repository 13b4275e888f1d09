// fakewatch upload page: pick or drop a file, POST it to /v1/check?annotate=true, show the answer.
// No frameworks and no external assets: the page must work offline and on a phone.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("upload"), input = $("file"), status = $("status"), box = $("result");
  const LABELS = { real: "Real", fake: "Fake", uncertain: "Uncertain", no_face: "No face found", invalid: "Cannot check" };

  function showStatus(text, isError) {
    status.textContent = text;
    status.className = "status" + (isError ? " error" : "");
    status.hidden = !text;
  }

  function pct(p) { return (100 * p).toFixed(1) + "%"; }

  function render(data) {
    const verdict = data.verdict || "invalid";
    const v = $("verdict");
    v.textContent = LABELS[verdict] || verdict;
    v.className = "verdict " + verdict;
    v.dataset.verdict = verdict;
    const p = data.fake_probability;
    $("confidence").textContent = p == null ? "" : pct(p) + " likely fake";
    $("bar-fill").style.width = p == null ? "0" : pct(p);

    const faces = data.faces || [];
    let summary = "";
    if (verdict === "invalid" && data.error) summary = data.error.message + " (" + data.error.code + ")";
    else if (verdict === "no_face") summary = "No face was found, so there is nothing to judge.";
    else {
      summary = faces.length + (faces.length === 1 ? " face" : " faces") + " checked";
      if (data.kind === "video" && data.frames_sampled) summary += " across " + data.frames_sampled + " sampled frames";
      summary += ".";
    }
    $("summary").textContent = summary;

    const img = $("heatmap");
    if (data.annotated_jpeg_base64) {
      img.src = "data:image/jpeg;base64," + data.annotated_jpeg_base64;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }

    const table = $("faces"), body = table.querySelector("tbody");
    body.textContent = "";
    faces.slice(0, 50).forEach((f, i) => {
      const tr = document.createElement("tr");
      const where = (f.frame != null ? "frame " + f.frame + ", " : "") + "box " + f.box.join(",");
      [String(i + 1), where, pct(f.fake_probability)].forEach((t) => {
        const td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.hidden = faces.length === 0;

    const m = data.model;
    $("model").textContent = m ? "model " + m.name + " " + m.version + (m.trained ? "" : " (untrained weights: demo only)") : "";
    box.hidden = false;
  }

  // Where the server requires API keys: asked once, kept for this tab only.
  let apiKey = sessionStorage.getItem("fakewatch-api-key") || "";

  async function send(file, retried) {
    if (!file) return;
    box.hidden = true;
    showStatus("Checking " + file.name + "…", false);
    const data = new FormData();
    data.append("file", file, file.name);
    let resp;
    try {
      resp = await fetch("v1/check?annotate=true", { method: "POST", body: data, headers: apiKey ? { "X-API-Key": apiKey } : {} });
    } catch (err) {
      showStatus("The checker cannot be reached. Try again in a moment.", true);
      return;
    }
    let json = null;
    try { json = await resp.json(); } catch (err) { /* not JSON */ }
    if (json && json.verdict) {
      showStatus("", false);
      render(json);
    } else if (resp.status === 401 && !retried) {
      apiKey = (window.prompt("This checker needs an API key:") || "").trim();
      sessionStorage.setItem("fakewatch-api-key", apiKey);
      if (apiKey) return send(file, true);
      showStatus("This checker needs an API key.", true);
    } else if (resp.status === 503 || resp.status === 429) {
      const wait = resp.headers.get("Retry-After");
      showStatus("The checker is busy" + (wait ? "; try again in " + wait + " s." : "."), true);
    } else if (resp.status === 504) {
      showStatus("The check took too long. A shorter clip may work.", true);
    } else {
      showStatus("Something went wrong (HTTP " + resp.status + ")" + (json && json.error ? ": " + json.error.message : "."), true);
    }
  }

  input.addEventListener("change", () => send(input.files[0]));
  ["dragenter", "dragover"].forEach((ev) => form.addEventListener(ev, (e) => {
    e.preventDefault(); form.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((ev) => form.addEventListener(ev, (e) => {
    e.preventDefault(); form.classList.remove("over");
  }));
  form.addEventListener("drop", (e) => {
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) send(file);
  });
})();
