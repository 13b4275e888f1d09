// fakewatch upload page: pick or drop a file, POST it to /v1/check?annotate=true, show the answer.
// No frameworks and no external assets: the page must work offline and on a phone.
// The answer is serving.contract.CheckResult; every field may be missing from an older server.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("upload"), input = $("file"), status = $("status"), box = $("result");
  const SVG = "http://www.w3.org/2000/svg";

  const LABELS = { real: "Real", fake: "Fake", uncertain: "Uncertain", no_face: "No face found", invalid: "Cannot check" };
  const FACES_ONLY = "The check looks at faces only: it cannot see other edits, a cloned voice or a misleading " +
    "caption, and a new kind of fake can get past it.";
  const SOURCES = {
    "c2pa": "C2PA content credentials",
    "xmp": "metadata in the file (IPTC digital source type or the tool's name)",
    "png-text": "generation settings an image generator wrote into the file",
    "watermark": "the invisible watermark of the Stable Diffusion / FLUX reference code",
  };
  const SOURCE_TYPES = {
    trainedAlgorithmicMedia: "made by a generative AI model",
    compositeWithTrainedAlgorithmicMedia: "combined with AI-generated parts",
    algorithmicMedia: "made by an algorithm",
    compositeSynthetic: "combined with synthetic parts",
    trainedAlgorithmicData: "made by a generative AI model",
    digitalCapture: "captured by a camera",
    computationalCapture: "captured by a camera, with computational processing",
    compositeCapture: "combined from several camera captures",
    minorHumanEdits: "a capture with minor human edits",
    humanEdits: "edited by a person",
    digitalCreation: "made by a person with software",
    screenCapture: "a screen capture",
  };

  function showStatus(text, isError) {
    status.textContent = text;
    status.className = "status" + (isError ? " error" : "");
    status.hidden = !text;
  }

  function pct(p) { return (100 * p).toFixed(1) + "%"; }

  function clock(t) {
    const m = Math.floor(t / 60), s = t - 60 * m;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }

  function node(tag, text, className) {
    const el = document.createElement(tag);
    if (text != null) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  // --- the verdict in words ----------------------------------------------------------------------

  function people(data) {
    if (data.tracks && data.tracks.length) return data.tracks.length;
    return (data.faces || []).length;
  }

  function describe(data) {
    const verdict = data.verdict || "invalid";
    const prov = data.provenance || {};
    const n = people(data);
    const who = data.kind === "video" ? (n === 1 ? "1 person" : n + " people") : (n === 1 ? "1 face" : n + " faces");
    if (verdict === "invalid") {
      const e = data.error || {};
      return { summary: (e.message || "The file cannot be checked.") + (e.code ? " (" + e.code + ")" : ""), limits: "" };
    }
    if (verdict === "fake" && data.reason === "provenance") {
      return {
        summary: "The file itself declares that it was made with generative AI" +
          (prov.generator ? " (" + prov.generator + ")" : "") +
          ". The evidence is the file's own credentials or marks, not the face model.",
        limits: "",
      };
    }
    if (verdict === "fake") {
      return { summary: "The face model found signs of face manipulation (" + who + " checked).", limits: FACES_ONLY };
    }
    if (verdict === "real") {
      return { summary: "No signs of face manipulation found (" + who + " checked).", limits: FACES_ONLY };
    }
    if (verdict === "uncertain" && data.reason === "low_resolution") {
      return {
        summary: "The faces are too small to judge (" + who + " checked): the traces of swapping are lost at this size. Send a larger or original file.",
        limits: FACES_ONLY,
      };
    }
    if (verdict === "uncertain") {
      return { summary: "The face model cannot tell: its score is close to the middle (" + who + " checked).", limits: FACES_ONLY };
    }
    // no_face
    let summary = "No face was found. This service checks faces";
    if (!prov.found) {
      summary += ", and the file carries no AI mark, so a scene generated without faces cannot be judged here.";
    } else if (prov.ai_generated === true) {
      summary += "; the file's own credentials declare generative AI (see below).";
    } else {
      summary += "; the file's credentials are shown below.";
    }
    return { summary: summary, limits: "" };
  }

  // --- provenance ----------------------------------------------------------------------------------

  function signatureWords(prov) {
    const c2pa = (prov.details || {}).c2pa || {};
    if (prov.signed === true) {
      if (prov.signature_valid === true) {
        return c2pa.trusted ? "signed; the signature is valid and the signer is on the C2PA trust list"
          : "signed; the signature is valid, but the signer is not on the C2PA trust list";
      }
      if (prov.signature_valid === false) return "signed, but the signature does not match this file (changed after signing, or damaged)";
      return "signed; the signature could not be checked";
    }
    if (prov.signed === false) return "not signed: any tool can write this, so it is a claim, not a proof";
    return null;
  }

  function provenanceFacts(prov) {
    const d = prov.details || {};
    const facts = [];
    if (prov.source) facts.push(["Found in", SOURCES[prov.source] || prov.source]);
    if (prov.generator) facts.push([prov.ai_generated === false ? "Made with" : "Generator", prov.generator]);
    const sig = signatureWords(prov);
    if (sig) facts.push(["Signature", sig]);
    const c2pa = d.c2pa || {};
    const types = (c2pa.digital_source_types || []).concat((d.xmp || {}).digital_source_types || []);
    if (types.length) {
      const seen = {};
      facts.push(["How it was made", types.filter((t) => !seen[t] && (seen[t] = true))
        .map((t) => (SOURCE_TYPES[t] ? SOURCE_TYPES[t] + " (" + t + ")" : t)).join("; ")]);
    }
    if (c2pa.actions && c2pa.actions.length) facts.push(["Recorded steps", c2pa.actions.map((a) => a.replace(/^c2pa\./, "")).join(", ")]);
    if (c2pa.signer && (c2pa.signer.common_name || c2pa.signer.issuer)) {
      facts.push(["Signed by", [c2pa.signer.common_name, c2pa.signer.issuer].filter(Boolean).join(", ")]);
    }
    if (c2pa.remote_manifest) facts.push(["Credentials", "stored on a server the file points to: " + c2pa.remote_manifest]);
    if (c2pa.error) facts.push(["Credentials", "present but unreadable: " + c2pa.error]);
    if ((d.xmp || {}).creator_tool) facts.push(["Tool named in the file", d.xmp.creator_tool]);
    if ((d.exif || {}).software) facts.push(["Software tag", d.exif.software]);
    if ((d.png_text || {}).prompt) facts.push(["Prompt written in the file", d.png_text.prompt]);
    if ((d.watermark || {}).match) facts.push(["Watermark", d.watermark.match]);
    return facts;
  }

  function renderProvenance(data) {
    const prov = data.provenance;
    const section = $("provenance");
    if (!prov) { section.hidden = true; return; }
    const d = prov.details || {};
    let words, state;
    if (prov.found && prov.ai_generated === true) {
      words = "This file declares that it was made or changed with generative AI" + (prov.generator ? ": " + prov.generator : "") + ".";
      state = "ai";
    } else if (prov.found && prov.ai_generated === false) {
      words = "The file's credentials declare a camera capture. Credentials can be copied from another file, " +
        "so they do not change the face check.";
      state = "capture";
    } else if (prov.found) {
      words = "The file carries content credentials, but they do not say whether AI was used.";
      state = "other";
    } else if (d.c2pa && d.c2pa.error) {
      words = "The file holds content credentials that could not be read (damaged or unsupported).";
      state = "other";
    } else {
      words = "No content credentials or AI marks found. Most files carry none (messengers and social networks " +
        "remove them), so this says nothing either way.";
      state = "none";
    }
    section.dataset.state = state;
    section.className = "provenance " + state;
    $("provenance-status").textContent = words;
    const dl = $("provenance-facts");
    dl.textContent = "";
    provenanceFacts(prov).forEach(([term, text]) => {
      dl.appendChild(node("dt", term));
      dl.appendChild(node("dd", text));
    });
    section.hidden = false;
  }

  // --- people, timeline, moments -------------------------------------------------------------------

  function peopleRows(data) {
    if (data.tracks && data.tracks.length) {
      return data.tracks.map((t) => ({
        name: "Person " + (t.id + 1), p: t.fake_probability,
        frames: t.faces + (data.frames_sampled ? " of " + data.frames_sampled : ""),
      }));
    }
    const faces = data.faces || [];
    if (data.kind === "video") {  // an older answer without tracks: one row per person id
      const groups = new Map();
      faces.forEach((f) => {
        const k = f.track == null ? 0 : f.track;
        const g = groups.get(k) || { p: 0, n: 0 };
        g.p = Math.max(g.p, f.fake_probability); g.n += 1;
        groups.set(k, g);
      });
      return Array.from(groups.entries()).map(([k, g]) => ({
        name: "Person " + (k + 1), p: g.p, frames: g.n + (data.frames_sampled ? " of " + data.frames_sampled : ""),
      }));
    }
    return faces.map((f, i) => ({ name: "Face " + (i + 1), p: f.fake_probability }));
  }

  function renderPeople(data) {
    const rows = peopleRows(data), video = data.kind === "video";
    const head = $("people-head"), body = $("people").querySelector("tbody");
    head.textContent = ""; body.textContent = "";
    [video ? "Person" : "Face", "Fake probability"].concat(video ? ["Seen in frames"] : [])
      .forEach((t) => head.appendChild(node("th", t)));
    rows.slice(0, 50).forEach((r) => {
      const tr = document.createElement("tr");
      tr.appendChild(node("td", r.name));
      const cell = node("td", null, "score");
      const meter = node("span", null, "meter");
      const fill = node("span");
      fill.style.width = pct(r.p);
      meter.appendChild(fill);
      cell.appendChild(meter);
      cell.appendChild(node("span", pct(r.p)));
      tr.appendChild(cell);
      if (video) tr.appendChild(node("td", r.frames));
      body.appendChild(tr);
    });
    $("people-title").textContent = video ? "People in the video" : "Faces";
    $("people-section").hidden = rows.length === 0;
  }

  function svg(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach((k) => el.setAttribute(k, attrs[k]));
    return el;
  }

  function renderTimeline(data) {
    const points = (data.timeline || []).slice().sort((a, b) => a.t - b.t);
    const holder = $("timeline");
    holder.textContent = "";
    if (data.kind !== "video" || points.length === 0) { $("timeline-section").hidden = true; return; }
    const W = 320, H = 110, L = 30, R = 8, T = 8, B = 22;
    const end = Math.max(points[points.length - 1].t, 0.001);
    const x = (t) => L + (W - L - R) * (t / end);
    const y = (p) => T + (H - T - B) * (1 - p);
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", class: "chart" });
    const worst = points.reduce((a, b) => (b.fake_probability > a.fake_probability ? b : a));
    chart.appendChild(svg("title", {})).textContent =
      "Fake probability over " + end.toFixed(1) + " s; highest " + pct(worst.fake_probability) + " at " + clock(worst.t);
    chart.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot" }));
    chart.appendChild(svg("line", { x1: L, x2: W - R, y1: y(0.5), y2: y(0.5), class: "mid" }));
    [["100%", 1], ["50%", 0.5], ["0%", 0]].forEach(([label, p]) => {
      const text = svg("text", { x: L - 4, y: y(p) + 3, class: "axis", "text-anchor": "end" });
      text.textContent = label; chart.appendChild(text);
    });
    [[0, "start"], [end, "end"]].forEach(([t, anchor]) => {
      const text = svg("text", { x: x(t), y: H - 6, class: "axis", "text-anchor": anchor });
      text.textContent = clock(t); chart.appendChild(text);
    });
    chart.appendChild(svg("polyline", {
      points: points.map((p) => x(p.t).toFixed(1) + "," + y(p.fake_probability).toFixed(1)).join(" "), class: "line",
    }));
    const moments = new Set((data.moments || []).map((m) => m.t));
    points.forEach((p) => {
      chart.appendChild(svg("circle", {
        cx: x(p.t).toFixed(1), cy: y(p.fake_probability).toFixed(1), r: moments.has(p.t) ? 3.5 : 2,
        class: moments.has(p.t) ? "dot moment" : "dot",
      }));
    });
    holder.appendChild(chart);
    $("timeline-section").hidden = false;
  }

  function renderMoments(data) {
    const list = $("moments");
    list.textContent = "";
    const moments = data.kind === "video" ? (data.moments || []) : [];
    moments.forEach((m) => list.appendChild(node("li", clock(m.t) + " — " + pct(m.fake_probability) + " likely fake")));
    $("moments-section").hidden = moments.length === 0;
  }

  function renderRaw(data) {
    const copy = Object.assign({}, data);
    if (copy.annotated_jpeg_base64) copy.annotated_jpeg_base64 = "(" + copy.annotated_jpeg_base64.length + " characters: the picture above)";
    $("raw").textContent = JSON.stringify(copy, null, 2);
  }

  // --- the whole answer ----------------------------------------------------------------------------

  function render(data) {
    const verdict = data.verdict || "invalid";
    const v = $("verdict");
    v.textContent = LABELS[verdict] || verdict;
    v.className = "verdict " + verdict;
    v.dataset.verdict = verdict;
    const p = data.fake_probability;
    const byProvenance = data.reason === "provenance";
    $("confidence").textContent = byProvenance ? "declared by the file" : (p == null ? "" : pct(p) + " likely fake");
    $("bar-fill").style.width = p == null ? "0" : pct(p);
    const words = describe(data);
    $("summary").textContent = words.summary;
    $("limits").textContent = words.limits;
    $("limits").hidden = !words.limits;

    renderProvenance(data);
    const img = $("heatmap");
    if (data.annotated_jpeg_base64) {
      img.src = "data:image/jpeg;base64," + data.annotated_jpeg_base64;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    renderPeople(data);
    renderTimeline(data);
    renderMoments(data);

    const m = data.model;
    $("model").textContent = m ? "model " + m.name + " " + m.version + (m.trained ? "" : " (untrained weights: demo only)") +
      (data.fusion ? " · " + data.fusion : "") : "";
    renderRaw(data);
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

  // For tests and for anyone who wants to render a saved answer: fakewatch.render(json).
  window.fakewatch = { render: render };
})();
